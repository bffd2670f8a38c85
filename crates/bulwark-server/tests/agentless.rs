//! Agentless scanning against a real OpenSSH server on loopback: the scanned machine is this
//! one, logged into as a throwaway user with its own sudoers rule, so an agentless scan can
//! be compared check by check with the scanner run here directly.

mod common;

use std::path::Path;
use std::time::Duration;

use bulwark_ssh::testing::Sshd;
use bulwark_store::Scope;
use common::TestApp;
use common::ssh::{Login, agentless_app};
use serde_json::{Value, json};

/// Registers the loopback host with a key credential; answers (host id, credential id).
async fn register(
    app: &TestApp,
    sshd: &Sshd,
    login: &Login,
    host_key: Option<&str>,
    escalation: &str,
) -> (String, String) {
    let admin = app.token("admin");
    let created = app
        .ok(
            "POST",
            "/api/v1/ssh-credentials",
            admin,
            Some(json!({"name": format!("key for {}", login.user.name), "kind": "private_key", "private_key": sshd.client_key})),
        )
        .await;
    let credential = created["credential"]["id"].as_str().unwrap().to_owned();
    let host = app
        .ok(
            "POST",
            "/api/v1/hosts",
            admin,
            Some(json!({
                "hostname": "loopback",
                "connection": {
                    "address": "127.0.0.1", "port": sshd.port, "username": login.user.name,
                    "credential_id": credential, "escalation": escalation, "host_key": host_key,
                }
            })),
        )
        .await;
    assert_eq!(host["connection"], "ssh");
    (host["id"].as_str().unwrap().to_owned(), credential)
}

async fn check(app: &TestApp, host: &str) -> Value {
    app.ok(
        "POST",
        &format!("/api/v1/hosts/{host}/ssh/check"),
        app.token("admin"),
        None,
    )
    .await
}

/// Counts the host as contacted now, so that a scan may be queued for it although its
/// check found problems (the scan is what must fail, with the reason).
async fn seen_now(app: &TestApp, host: &str) {
    app.state
        .store
        .record_seen(&[(host.to_owned(), bulwark_store::now())])
        .await
        .unwrap();
}

async fn policy(app: &TestApp) -> String {
    let policy = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            app.token("admin"),
            Some(json!({"name": "Linux", "os_type": "linux", "template_id": "cis-linux-l1", "scan_interval_hours": 24})),
        )
        .await;
    policy["id"].as_str().unwrap().to_owned()
}

/// Queues a scan and runs it as the SSH worker would; answers the finished scan.
async fn scan(app: &TestApp, policy: &str, host: &str) -> Value {
    let scan_id = common::trigger(app, policy, host).await;
    let mut jobs = app
        .state
        .store
        .claim_ssh_jobs(bulwark_store::now(), 600, 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1, "the scan's job goes to the SSH workers");
    bulwark_server::agentless::run_job(&app.state, jobs.remove(0)).await;
    app.ok(
        "GET",
        &format!("/api/v1/compliance/scans/{scan_id}"),
        app.token("viewer"),
        None,
    )
    .await
}

/// What the scanner says about this machine when run here directly, by check id.
async fn local_verdicts(app: &TestApp) -> std::collections::BTreeMap<String, String> {
    let store = &app.state.store;
    let template = store
        .get_template(&Scope::All, "cis-linux-l1")
        .await
        .unwrap();
    let checks = app
        .state
        .checks
        .checks(store.as_ref(), &template)
        .await
        .unwrap();
    let request = bulwark_scanner::ScanRequest {
        template_id: template.id.clone(),
        template_name: template.name.clone(),
        checks: checks
            .iter()
            .filter(|c| c.enabled)
            .map(|c| c.check.for_evaluation())
            .collect(),
        commands: bulwark_scanner::CommandPolicy::Refused {
            reason: "not here".into(),
        },
    };
    let answer = tokio::task::spawn_blocking(move || bulwark_scanner::run(Path::new("/"), request))
        .await
        .unwrap()
        .unwrap();
    answer
        .results
        .into_iter()
        .filter(|r| {
            !checks
                .iter()
                .any(|c| c.check.id == r.check_id && c.check.probe.server_evaluated())
        })
        .map(|r| (r.check_id, r.outcome.status.as_str().to_owned()))
        .collect()
}

fn scanner_processes() -> String {
    let out = std::process::Command::new("pgrep")
        .args(["-af", ".bulwark-scan."])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agentless_scan_of_this_machine_gives_the_local_verdicts() {
    let Some(sshd) = Sshd::start() else { return };
    let login = Login::new("a");
    let _sudo = login.sudo("USER ALL=(root) NOPASSWD: ALL\n");
    let app = agentless_app(|_| {}).await;
    let (host, _) = register(&app, &sshd, &login, None, "sudo").await;

    // First contact: the key is recorded, nothing runs until it is approved.
    let first = check(&app, &host).await;
    assert_eq!(first["ok"], false);
    let problem = first["problems"][0].as_str().unwrap();
    assert!(problem.contains("host key pending"), "{problem}");
    assert!(problem.contains(&sshd.host_fingerprint), "{problem}");
    let policy = policy(&app).await;
    let target_path = format!("/api/v1/hosts/{host}/ssh");
    let target = app.ok("GET", &target_path, app.token("viewer"), None).await;
    assert_eq!(target["offered_key"], sshd.host_fingerprint.as_str());
    assert_eq!(target["host_key"], Value::Null);

    let approve = format!("/api/v1/hosts/{host}/ssh/approve-key");
    let wrong = app
        .call(
            "POST",
            &approve,
            app.token("admin"),
            Some(json!({"fingerprint": "SHA256:AAAA"})),
        )
        .await;
    assert_eq!(wrong.status, 409, "{}", wrong.text);
    let viewer = app
        .call(
            "POST",
            &approve,
            app.token("viewer"),
            Some(json!({"fingerprint": sshd.host_fingerprint})),
        )
        .await;
    assert_eq!(viewer.status, 403, "approving needs hosts.manage");
    let approved = app
        .ok(
            "POST",
            &approve,
            app.token("admin"),
            Some(json!({"fingerprint": sshd.host_fingerprint})),
        )
        .await;
    assert_eq!(approved["host_key"], sshd.host_fingerprint.as_str());

    // Check and Detect OS.
    let report = check(&app, &host).await;
    assert_eq!(report["ok"], true, "{report}");
    let here = bulwark_core::platform::parse_os_release(
        &std::fs::read_to_string("/etc/os-release").unwrap(),
    );
    assert_eq!(report["os_id"], here.id.as_str());
    assert_eq!(report["architecture"], std::env::consts::ARCH);
    assert_eq!(report["sudo"], "passwordless");
    assert!(report["work_dir_free_mb"].as_u64().unwrap() > 0);
    let detail = app
        .ok(
            "GET",
            &format!("/api/v1/hosts/{host}"),
            app.token("viewer"),
            None,
        )
        .await;
    assert_eq!(detail["host"]["os_id"], here.id.as_str(), "{detail}");
    assert_eq!(detail["host"]["status"], "online");

    // The scan, and the same verdicts as the scanner run here.
    let done = scan(&app, &policy, &host).await;
    assert_eq!(done["status"], "completed", "{done}");
    let results = app
        .ok(
            "GET",
            &format!(
                "/api/v1/compliance/scans/{}/results",
                done["id"].as_str().unwrap()
            ),
            app.token("viewer"),
            None,
        )
        .await;
    let remote: std::collections::BTreeMap<String, String> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["check_id"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let local = local_verdicts(&app).await;
    let differing: Vec<String> = local
        .iter()
        .filter(|(id, status)| remote.get(*id) != Some(status))
        .map(|(id, status)| format!("{id}: local {status}, agentless {:?}", remote.get(id)))
        .collect();
    assert!(local.len() > 200, "{} checks compared", local.len());
    assert!(
        differing.is_empty(),
        "verdicts differ:\n{}",
        differing.join("\n")
    );
    eprintln!(
        "agentless and local verdicts agree on all {} checks (pass {}, fail {})",
        local.len(),
        local.values().filter(|s| *s == "pass").count(),
        local.values().filter(|s| *s == "fail").count()
    );
    assert!(
        login.leftovers().is_empty(),
        "left on the host: {:?}",
        login.leftovers()
    );
    assert_eq!(scanner_processes(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_sealed_at_rest_and_never_answered() {
    let app = agentless_app(|_| {}).await;
    let admin = app.token("admin");
    let password = "correct horse battery staple 42";
    let created = app
        .ok(
            "POST",
            "/api/v1/ssh-credentials",
            admin,
            Some(json!({"name": "shared", "kind": "password", "password": password})),
        )
        .await;
    assert_eq!(created["public_key"], Value::Null);
    let generated = app
        .ok(
            "POST",
            "/api/v1/ssh-credentials",
            admin,
            Some(json!({"name": "made here", "kind": "private_key", "generate": true})),
        )
        .await;
    let public = generated["public_key"].as_str().unwrap();
    assert!(public.starts_with("ssh-ed25519 "), "{public}");
    let listed = app
        .ok("GET", "/api/v1/ssh-credentials", app.token("viewer"), None)
        .await;
    let text = listed.to_string();
    assert!(
        !text.contains(password) && !text.contains("PRIVATE KEY"),
        "{text}"
    );
    assert!(!text.contains("sealed") && !text.contains("v1:"), "{text}");

    // The database holds neither the password nor any private key, nor the server's key.
    let dir = app.data_dir();
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("bulwark.db")
        {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    let haystack = String::from_utf8_lossy(&bytes);
    assert!(haystack.contains("made here"), "the database was read");
    assert!(!haystack.contains(password));
    assert!(!haystack.contains("OPENSSH PRIVATE KEY"));
    let key = std::fs::read_to_string(dir.join("secret.key")).unwrap();
    assert!(!haystack.contains(key.trim()));

    // Bad input names its field; nothing is stored.
    let bad = app
        .call(
            "POST",
            "/api/v1/ssh-credentials",
            admin,
            Some(json!({"name": "broken", "kind": "private_key", "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nnope"})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(bad.text.contains("private_key"), "{}", bad.text);
    let none = app
        .call(
            "POST",
            "/api/v1/ssh-credentials",
            admin,
            Some(json!({"name": "", "kind": "password"})),
        )
        .await;
    assert_eq!(none.status, 422);
    assert!(
        none.text.contains("password") && none.text.contains("name"),
        "{}",
        none.text
    );
    let count = app
        .ok("GET", "/api/v1/ssh-credentials", admin, None)
        .await
        .as_array()
        .unwrap()
        .len();
    assert_eq!(count, 2);

    // Another organization's user sees none of them and cannot use them.
    let theirs = app
        .call("GET", "/api/v1/ssh-credentials", &app.b_token, None)
        .await;
    assert_eq!(theirs.json(), json!([]));
    let id = created["credential"]["id"].as_str().unwrap();
    let host = app
        .call(
            "POST",
            "/api/v1/hosts",
            &app.b_token,
            Some(json!({"hostname": "x", "connection": {"address": "192.0.2.1", "username": "scan", "credential_id": id}})),
        )
        .await;
    assert_eq!(
        host.status, 403,
        "registering needs hosts.manage: {}",
        host.text
    );
}

/// A fault of the target and the reason a scan (or check) must end with.
struct Fault {
    name: &'static str,
    sudoers: &'static str,
    /// Checked, approved, then scanned: the reason is the scan's failure message.
    scan_reason: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_faults_fail_the_scan_with_a_reason_and_leave_nothing() {
    let Some(sshd) = Sshd::start() else { return };
    let faults = [
        Fault {
            name: "sudo asks for a password",
            sudoers: "USER ALL=(root) ALL\n",
            scan_reason: "asks",
        },
        Fault {
            name: "requiretty",
            sudoers: "Defaults:USER requiretty\nUSER ALL=(root) NOPASSWD: ALL\n",
            scan_reason: "requiretty",
        },
        Fault {
            name: "noexec",
            sudoers: "USER ALL=(root) NOPASSWD: NOEXEC: ALL\n",
            scan_reason: "NOEXEC",
        },
        Fault {
            name: "not in sudoers",
            sudoers: "",
            scan_reason: "sudo",
        },
    ];
    for (i, fault) in faults.iter().enumerate() {
        let login = Login::new(&format!("f{i}"));
        let _sudo = (!fault.sudoers.is_empty()).then(|| login.sudo(fault.sudoers));
        let app = agentless_app(|_| {}).await;
        let (host, _) = register(&app, &sshd, &login, Some(&sshd.host_fingerprint), "sudo").await;
        let report = check(&app, &host).await;
        assert_eq!(report["ok"], false, "{}: {report}", fault.name);
        // The host is online for the check's login, so a scan may be queued; it fails.
        seen_now(&app, &host).await;
        let policy = policy(&app).await;
        let done = scan(&app, &policy, &host).await;
        assert_eq!(done["status"], "failed", "{}: {done}", fault.name);
        let message = done["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(fault.scan_reason),
            "{}: {message:?} lacks {:?}",
            fault.name,
            fault.scan_reason
        );
        assert!(
            login.leftovers().is_empty(),
            "{}: {:?}",
            fault.name,
            login.leftovers()
        );
    }
    assert_eq!(scanner_processes(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_faults_are_named() {
    let Some(sshd) = Sshd::start() else { return };
    let login = Login::new("c");
    let _sudo = login.sudo("USER ALL=(root) NOPASSWD: ALL\n");
    let app = agentless_app(|_| {}).await;
    let admin = app.token("admin");

    // A key the host does not know.
    let stranger = app
        .ok(
            "POST",
            "/api/v1/ssh-credentials",
            admin,
            Some(json!({"name": "stranger", "kind": "private_key", "generate": true})),
        )
        .await;
    let wrong_password = app
        .ok(
            "POST",
            "/api/v1/ssh-credentials",
            admin,
            Some(json!({"name": "wrong password", "kind": "password", "password": "not it"})),
        )
        .await;
    for (credential, want) in [
        (&stranger, "refused public key authentication"),
        (&wrong_password, "refused password authentication"),
    ] {
        let host = app
            .ok(
                "POST",
                "/api/v1/hosts",
                admin,
                Some(json!({"hostname": "loopback", "connection": {
                    "address": "127.0.0.1", "port": sshd.port, "username": login.user.name,
                    "credential_id": credential["credential"]["id"], "host_key": sshd.host_fingerprint,
                }})),
            )
            .await;
        let report = check(&app, host["id"].as_str().unwrap()).await;
        let problem = report["problems"][0].as_str().unwrap();
        assert!(problem.contains(want), "{problem:?} lacks {want:?}");
    }

    // A changed host key: approved one, offered another. Hard failure, the offer kept.
    let other_key = bulwark_ssh::generate_ed25519("other").unwrap();
    let other_fingerprint = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pub");
        std::fs::write(&path, &other_key.public_line).unwrap();
        bulwark_ssh::testing::fingerprint_of(&path)
    };
    let (host, _) = register(&app, &sshd, &login, Some(&other_fingerprint), "sudo").await;
    let report = check(&app, &host).await;
    let problem = report["problems"][0].as_str().unwrap();
    assert!(problem.contains("host key changed"), "{problem}");
    let target = app
        .ok("GET", &format!("/api/v1/hosts/{host}/ssh"), admin, None)
        .await;
    assert_eq!(target["host_key"], other_fingerprint.as_str());
    assert_eq!(target["offered_key"], sshd.host_fingerprint.as_str());
    seen_now(&app, &host).await;
    let policy = policy(&app).await;
    let done = scan(&app, &policy, &host).await;
    assert_eq!(done["status"], "failed");
    assert!(
        done["message"]
            .as_str()
            .unwrap()
            .contains("host key changed"),
        "{done}"
    );

    // Nothing listens: unreachable, within the connect timeout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let credential = stranger["credential"]["id"].clone();
    let nowhere = app
        .ok(
            "POST",
            "/api/v1/hosts",
            admin,
            Some(json!({"hostname": "gone", "connection": {"address": "127.0.0.1", "port": port, "username": "x", "credential_id": credential}})),
        )
        .await;
    let report = check(&app, nowhere["id"].as_str().unwrap()).await;
    assert!(
        report["problems"][0]
            .as_str()
            .unwrap()
            .contains("cannot reach"),
        "{report}"
    );
}

/// A login whose commands find `shims` first on PATH (sshd's SetEnv for that user), so a test
/// can make one program on the host misbehave.
fn shimmed(tag: &str, shims: &[(&str, &str)]) -> Option<(Sshd, Login, tempfile::TempDir)> {
    let login = Login::new(tag);
    let dir = tempfile::Builder::new()
        .prefix("bulwark-shims")
        .tempdir_in("/tmp")
        .unwrap();
    for (name, script) in shims {
        let path = dir.path().join(name);
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let sshd = Sshd::start_with_config(&format!(
        "Match User {}\n  SetEnv PATH={}:/usr/local/bin:/usr/bin:/bin\n",
        login.user.name,
        dir.path().display()
    ))?;
    Some((sshd, login, dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_past_its_deadline_is_stopped_on_the_host_too() {
    // sudo hangs on this host: the scan must end at its deadline and leave no process behind.
    let Some((sshd, login, _shims)) = shimmed("d", &[("sudo", "#!/bin/sh\nexec sleep 600\n")])
    else {
        return;
    };
    let app = agentless_app(|c| c.agentless.scan_deadline = Duration::from_secs(8)).await;
    let (host, _) = register(&app, &sshd, &login, Some(&sshd.host_fingerprint), "sudo").await;
    seen_now(&app, &host).await;
    let policy = policy(&app).await;
    let started = std::time::Instant::now();
    let done = scan(&app, &policy, &host).await;
    let took = started.elapsed();
    assert_eq!(done["status"], "failed", "{done}");
    let message = done["message"].as_str().unwrap();
    assert!(message.contains("deadline"), "{message}");
    assert!(took < Duration::from_secs(25), "took {took:?}");
    assert!(login.leftovers().is_empty(), "{:?}", login.leftovers());
    let sleeping = std::process::Command::new("pgrep")
        .args(["-u", &login.user.name, "sleep"])
        .output()
        .unwrap();
    assert!(
        sleeping.stdout.is_empty(),
        "still running on the host: {}",
        String::from_utf8_lossy(&sleeping.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_the_scanner_cannot_serve_are_named() {
    // Another architecture.
    let Some((sshd, login, _shims)) = shimmed(
        "u",
        &[(
            "uname",
            "#!/bin/sh\nif [ \"$1\" = -m ]; then echo aarch64; else echo Linux 6.1.0 aarch64; fi\n",
        )],
    ) else {
        return;
    };
    let _sudo = login.sudo("USER ALL=(root) NOPASSWD: ALL\n");
    let app = agentless_app(|_| {}).await;
    let (host, _) = register(&app, &sshd, &login, Some(&sshd.host_fingerprint), "sudo").await;
    let report = check(&app, &host).await;
    assert_eq!(report["architecture"], "aarch64");
    assert!(
        report
            .to_string()
            .contains("unsupported architecture aarch64"),
        "{report}"
    );
    seen_now(&app, &host).await;
    let policy = policy(&app).await;
    let done = scan(&app, &policy, &host).await;
    assert!(
        done["message"]
            .as_str()
            .unwrap()
            .contains("unsupported architecture"),
        "{done}"
    );

    // A login shell that talks: a greeting, or a flood of 100 MB, before every command.
    for (tag, shell) in [
        (
            "g",
            "#!/bin/sh\necho 'Welcome to the machine'\nexec /bin/sh \"$@\"\n",
        ),
        (
            "m",
            "#!/bin/sh\nhead -c 100000000 /dev/zero\nexec /bin/sh \"$@\"\n",
        ),
    ] {
        let talker = Login::new(tag);
        let _sudo = talker.sudo("USER ALL=(root) NOPASSWD: ALL\n");
        let path = talker.home.path().join("shell");
        std::fs::write(&path, shell).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        talker.user.set_shell(&path);
        let (host, _) = register(&app, &sshd, &talker, Some(&sshd.host_fingerprint), "sudo").await;
        seen_now(&app, &host).await;
        let done = scan(&app, &policy, &host).await;
        assert_eq!(done["status"], "failed", "{done}");
        let message = done["message"].as_str().unwrap();
        assert!(message.contains("login shell print"), "{tag}: {message}");
        assert!(
            talker.leftovers().is_empty(),
            "{tag}: {:?}",
            talker.leftovers()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_work_directory_fails_the_scan_with_the_space_it_has() {
    let Some(sshd) = Sshd::start() else { return };
    let login = Login::new("s");
    let _sudo = login.sudo("USER ALL=(root) NOPASSWD: ALL\n");
    // The home directory on a 1 MB filesystem: no room for the scanner.
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m,mode=0755"])
        .arg("tmpfs")
        .arg(login.home.path())
        .status()
        .unwrap();
    assert!(
        mounted.success(),
        "mount a small tmpfs (the suite runs as root)"
    );
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(login.home.path());
    std::process::Command::new("chown")
        .arg(format!("{}:", login.user.name))
        .arg(login.home.path())
        .status()
        .unwrap();
    let app = agentless_app(|_| {}).await;
    let (host, _) = register(&app, &sshd, &login, Some(&sshd.host_fingerprint), "sudo").await;
    let report = check(&app, &host).await;
    assert!(report.to_string().contains("MB free"), "{report}");
    seen_now(&app, &host).await;
    let policy = policy(&app).await;
    let done = scan(&app, &policy, &host).await;
    let message = done["message"].as_str().unwrap();
    assert!(message.contains("no space"), "{message}");
    assert!(login.leftovers().is_empty(), "{:?}", login.leftovers());
}

/// Imports bulwark-scap's small data stream (real OVAL checks) as a template of A.
async fn small_scap_template(app: &TestApp) -> String {
    let path = format!(
        "{}/../bulwark-scap/tests/fixtures/arf-source-ds.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(format!(
            "/api/v1/compliance/templates/import-scap?profile=xccdf_com.example.bulwark_profile_all&org_id={}",
            app.a.id
        ))
        .header("authorization", format!("Bearer {}", app.token("admin")))
        .header("content-type", "application/xml")
        .body(axum::body::Body::from(std::fs::read(&path).unwrap()))
        .unwrap();
    let reply = app.dispatch(req).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["template"]["id"].as_str().unwrap().to_owned()
}

/// Queues a scan of `host` with `template` (no policy) and runs it as the SSH worker would.
async fn scan_with_template(app: &TestApp, template: &str, host: &str) -> Value {
    let scan = app
        .ok(
            "POST",
            "/api/v1/compliance/scans",
            app.token("user"),
            Some(json!({"host_id": host, "template_id": template})),
        )
        .await;
    let mut jobs = app
        .state
        .store
        .claim_ssh_jobs(bulwark_store::now(), 600, 10)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    bulwark_server::agentless::run_job(&app.state, jobs.remove(0)).await;
    app.ok(
        "GET",
        &format!("/api/v1/compliance/scans/{}", scan["id"].as_str().unwrap()),
        app.token("viewer"),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scap_template_is_evaluated_by_the_hosts_own_oscap() {
    assert!(
        Path::new("/usr/bin/oscap").exists(),
        "oscap is missing: apt-get install openscap-scanner (scripts/test installs it)"
    );
    let Some(sshd) = Sshd::start() else { return };
    let login = Login::new("o");
    let _sudo = login.sudo("USER ALL=(root) NOPASSWD: ALL\n");
    let app = agentless_app(|_| {}).await;
    let (host, _) = register(&app, &sshd, &login, Some(&sshd.host_fingerprint), "sudo").await;
    let report = check(&app, &host).await;
    assert!(
        report["oscap"]
            .as_str()
            .unwrap_or_default()
            .contains("OpenSCAP"),
        "{report}"
    );
    let template = small_scap_template(&app).await;
    let done = scan_with_template(&app, &template, &host).await;
    assert_eq!(done["status"], "completed", "{done}");
    let scan_id = done["id"].as_str().unwrap();
    let results = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{scan_id}/results"),
            app.token("viewer"),
            None,
        )
        .await;
    let statuses: std::collections::BTreeSet<String> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect();
    assert!(results.as_array().unwrap().len() >= 5, "{results}");
    assert!(
        statuses.contains("pass") && statuses.contains("fail"),
        "{statuses:?}"
    );
    assert!(
        results.to_string().contains("oscap: "),
        "each result carries oscap's own outcome"
    );
    let arf = app
        .state
        .store
        .artifact(&Scope::All, scan_id, "arf")
        .await
        .unwrap()
        .expect("the ARF is kept with the scan");
    assert!(String::from_utf8_lossy(&arf).contains("asset-report-collection"));
    assert!(login.leftovers().is_empty(), "{:?}", login.leftovers());

    // A host without oscap cannot take an SCAP template: said so, nothing left behind.
    let Some((bare, bare_login, _shims)) = shimmed(
        "n",
        &[(
            "oscap",
            "#!/bin/sh\necho 'sh: 1: oscap: not found' >&2\nexit 127\n",
        )],
    ) else {
        return;
    };
    let _sudo = bare_login.sudo("USER ALL=(root) NOPASSWD: ALL\n");
    let (host, _) = register(
        &app,
        &bare,
        &bare_login,
        Some(&bare.host_fingerprint),
        "sudo",
    )
    .await;
    assert_eq!(check(&app, &host).await["oscap"], Value::Null);
    let done = scan_with_template(&app, &template, &host).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["message"]
            .as_str()
            .unwrap()
            .contains("no OpenSCAP scanner"),
        "{done}"
    );
    assert!(bare_login.leftovers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_mid_scan_fails_it_and_the_directory_still_goes() {
    let Some(sshd) = Sshd::start() else { return };
    let login = Login::new("x");
    let _sudo = login.sudo("USER ALL=(root) NOPASSWD: ALL\n");
    let app = agentless_app(|_| {}).await;
    let (host, _) = register(&app, &sshd, &login, Some(&sshd.host_fingerprint), "sudo").await;
    assert_eq!(check(&app, &host).await["ok"], true);
    let policy = policy(&app).await;
    let scan_id = common::trigger(&app, &policy, &host).await;
    let mut jobs = app
        .state
        .store
        .claim_ssh_jobs(bulwark_store::now(), 600, 10)
        .await
        .unwrap();
    let state = app.state.clone();
    let job = jobs.remove(0);
    let running =
        tokio::spawn(async move { bulwark_server::agentless::run_job(&state, job).await });
    // Once the scanner runs on the host, its login's sshd process is killed: the connection
    // is gone in the middle of the scan.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while scanner_processes().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the scanner never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-u", &login.user.name, "sshd"])
        .status()
        .unwrap();
    assert!(
        killed.success(),
        "the login's sshd process was there to kill"
    );
    running.await.unwrap();
    let done = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{scan_id}"),
            app.token("viewer"),
            None,
        )
        .await;
    assert_eq!(done["status"], "failed", "{done}");
    let message = done["message"].as_str().unwrap();
    assert!(
        message.contains("lost") || message.contains("closed"),
        "{message}"
    );
    assert!(login.leftovers().is_empty(), "{:?}", login.leftovers());
}
