//! Host control for real: `bulwark serve` and a real `bulwark-agent run` reading `/` on this
//! (disposable) machine. Every action goes through the API as an operator would send it and
//! is performed by the agent with the host's own tools: a throwaway init script through
//! `service` and `update-rc.d`, processes the test starts and the agent kills, a user and a
//! group made and removed with the shadow tools, ping, traceroute, a port check and netstat
//! against listeners the test opens, a DNS lookup at a dnsmasq the test starts on loopback,
//! and scripts with and without each of their two locks. Every action is in the audit log.

mod support;

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use support::{
    Agent, Api, admin, eventually, field, online_host, serve, start_agent, write_config,
};

/// Waits for a job to end and answers it.
async fn ended(api: &Api, job: &Value) -> Value {
    let id = job["id"]
        .as_str()
        .unwrap_or_else(|| panic!("not a job: {job}"));
    eventually(120, &format!("job {id} to end"), || async {
        let j = api.get(&format!("/api/v1/jobs/{id}")).await;
        let status = j["status"].as_str()?.to_owned();
        ["succeeded", "failed", "expired", "cancelled"]
            .contains(&status.as_str())
            .then_some(j)
    })
    .await
}

/// Queues `action` on the host and waits for its end.
async fn act(api: &Api, host: &str, body: Value) -> Value {
    let job = api.post(&format!("/api/v1/hosts/{host}/jobs"), body).await;
    ended(api, &job).await
}

/// Queues `body` on the host and asserts that the job succeeded.
async fn succeeds(api: &Api, host: &str, body: Value) -> Value {
    let job = act(api, host, body).await;
    succeeded(&job);
    job
}

fn succeeded(job: &Value) -> &Value {
    assert_eq!(job["status"], "succeeded", "{job:#}");
    job
}

fn failed(job: &Value) -> &Value {
    assert_eq!(job["status"], "failed", "{job:#}");
    job
}

fn message(job: &Value) -> &str {
    job["message"].as_str().unwrap_or_default()
}

/// A throwaway SysV service: `start` runs a sleep with a pid file, `status` says whether
/// it lives. Installed as a package would (`update-rc.d defaults`); removed on drop.
struct InitScript {
    name: String,
}

impl InitScript {
    fn install(name: &str) -> Self {
        let script = format!(
            "#!/bin/sh\n### BEGIN INIT INFO\n# Provides:          {name}\n# Required-Start:    $local_fs\n\
             # Required-Stop:     $local_fs\n# Default-Start:     2 3 4 5\n# Default-Stop:      0 1 6\n\
             # Short-Description: host-control test service\n### END INIT INFO\n\
             PIDFILE=/run/{name}.pid\ncase \"$1\" in\n\
             start) if [ -f $PIDFILE ] && kill -0 $(cat $PIDFILE) 2>/dev/null; then exit 0; fi\n\
             \x20 sleep 1000 >/dev/null 2>&1 </dev/null & echo $! > $PIDFILE ;;\n\
             stop) [ -f $PIDFILE ] && kill $(cat $PIDFILE) 2>/dev/null; rm -f $PIDFILE ;;\n\
             restart) $0 stop; $0 start ;;\n\
             status) [ -f $PIDFILE ] && kill -0 $(cat $PIDFILE) 2>/dev/null ;;\n\
             *) exit 3 ;;\nesac\n"
        );
        let path = Self::path_of(name);
        std::fs::write(&path, script).unwrap();
        Command::new("chmod")
            .arg("755")
            .arg(&path)
            .status()
            .unwrap();
        let ok = Command::new("update-rc.d")
            .args([name, "defaults"])
            .output()
            .unwrap();
        assert!(ok.status.success(), "{ok:?}");
        InitScript { name: name.into() }
    }

    fn path_of(name: &str) -> PathBuf {
        Path::new("/etc/init.d").join(name)
    }

    fn running(&self) -> bool {
        Command::new("/etc/init.d/".to_owned() + &self.name)
            .arg("status")
            .status()
            .unwrap()
            .success()
    }

    fn starts_at_boot(&self) -> bool {
        Path::new(&format!("/etc/rc2.d/S01{}", self.name)).exists()
    }
}

impl Drop for InitScript {
    fn drop(&mut self) {
        let _ = Command::new(Self::path_of(&self.name)).arg("stop").status();
        let _ = Command::new("update-rc.d")
            .args(["-f", &self.name, "remove"])
            .output();
        let _ = std::fs::remove_file(Self::path_of(&self.name));
    }
}

/// Removes the test's account and group whatever happens.
struct AccountCleanup(String, String);

impl Drop for AccountCleanup {
    fn drop(&mut self) {
        let _ = Command::new("userdel").args(["-r", &self.0]).output();
        let _ = Command::new("groupdel").arg(&self.1).output();
    }
}

struct Dnsmasq(Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until the shell has installed its trap: SIGTERM (15) is in its ignored set.
fn ignores_sigterm(pid: u32) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let ignored = status
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:"))
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .unwrap_or(0);
        if ignored & (1 << (15 - 1)) != 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "process {pid} never ignored SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn shadow_of(user: &str) -> String {
    std::fs::read_to_string("/etc/shadow")
        .unwrap()
        .lines()
        .find(|l| l.split(':').next() == Some(user))
        .unwrap_or_default()
        .to_owned()
}

fn members_of(group: &str) -> Vec<String> {
    std::fs::read_to_string("/etc/group")
        .unwrap()
        .lines()
        .find(|l| l.split(':').next() == Some(group))
        .and_then(|l| l.rsplit(':').next())
        .map(|m| {
            m.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

struct World {
    _dir: tempfile::TempDir,
    db: String,
    api: Api,
    url: String,
    org: String,
    host: String,
    _server: support::Server,
    agent_dir: PathBuf,
}

async fn world() -> (World, Agent) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/bulwark.db", dir.path().display());
    let org = admin(&db, &["org", "create", "--name", "Control"], None);
    admin(
        &db,
        &["user", "create", "--username", "root", "--role", "admin"],
        Some("a long enough password\n"),
    );
    let token = field(
        &admin(&db, &["token", "create", "--user", "root"], None),
        "token",
    );
    let (server, url) = serve(&db);
    let api = Api {
        http: reqwest::Client::new(),
        url: url.clone(),
        token,
    };
    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let config = write_config(
        &agent_dir,
        &url,
        &field(&org, "enrollment_secret"),
        Path::new("/"),
    );
    let agent = start_agent_with(&config, &agent_dir, true);
    let org_id = field(&org, "org_id");
    let host = online_host(&api, &org_id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (
        World {
            _dir: dir,
            db,
            api,
            url,
            org: org_id,
            host,
            _server: server,
            agent_dir,
        },
        agent,
    )
}

impl World {
    /// The API as a new user of `role` in `org`, with a token of their own.
    fn api_as(&self, username: &str, role: &str, org: &str) -> Api {
        admin(
            &self.db,
            &[
                "user",
                "create",
                "--username",
                username,
                "--role",
                role,
                "--org",
                org,
            ],
            Some("a long enough password\n"),
        );
        let token = admin(&self.db, &["token", "create", "--user", username], None);
        Api {
            http: reqwest::Client::new(),
            url: self.url.clone(),
            token: field(&token, "token"),
        }
    }
}

/// Starts the agent with its own script lock open or closed.
fn start_agent_with(config: &Path, dir: &Path, allow_scripts: bool) -> Agent {
    let text = std::fs::read_to_string(config).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("allow_scripts"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(config, format!("{text}allow_scripts = {allow_scripts}\n")).unwrap();
    start_agent(config, &dir.join(format!("agent-{allow_scripts}.log")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_host_action_runs_for_real_on_this_machine() {
    let (w, agent) = world().await;
    let (api, host) = (&w.api, w.host.as_str());
    let tag = format!("{:x}", rand_suffix());

    // Services, through `service` and `update-rc.d` (no systemd runs here).
    let service = InitScript::install(&format!("bwprobe{tag}"));
    let svc = |action: &str| json!({"action": {"type": "service", "name": service.name, "action": action}});
    let started = act(api, host, svc("start")).await;
    assert!(
        message(succeeded(&started)).ends_with("is running"),
        "{started}"
    );
    assert!(service.running());
    let stopped = act(api, host, svc("stop")).await;
    assert!(message(succeeded(&stopped)).ends_with("is not running"));
    assert!(!service.running());
    succeeds(api, host, svc("restart")).await;
    assert!(service.running());
    succeeds(api, host, svc("disable")).await;
    assert!(!service.starts_at_boot());
    let enabled = act(api, host, svc("enable")).await;
    assert!(
        message(succeeded(&enabled)).ends_with("enabled at boot"),
        "{enabled}"
    );
    assert!(service.starts_at_boot());
    let unknown = act(
        api,
        host,
        json!({"action": {"type": "service", "name": format!("nosuch{tag}"), "action": "start"}}),
    )
    .await;
    assert_eq!(
        message(failed(&unknown)),
        format!("no such service: nosuch{tag}")
    );

    // Processes: one that leaves on SIGTERM, one that ignores it and gets SIGKILL.
    let mut polite = Command::new("sleep").arg("300").spawn().unwrap();
    let killed = act(
        api,
        host,
        json!({"action": {"type": "kill_process", "pid": polite.id(), "grace_secs": 5}}),
    )
    .await;
    assert!(
        message(succeeded(&killed)).contains("exited on SIGTERM"),
        "{killed}"
    );
    assert!(polite.wait().unwrap().code().is_none(), "ended by a signal");
    let mut stubborn = Command::new("sh")
        .args(["-c", "trap '' TERM; while :; do sleep 1; done"])
        .spawn()
        .unwrap();
    ignores_sigterm(stubborn.id());
    let forced = act(
        api,
        host,
        json!({"action": {"type": "kill_process", "pid": stubborn.id(), "grace_secs": 1}}),
    )
    .await;
    assert!(
        message(succeeded(&forced)).contains("was killed"),
        "{forced}"
    );
    let _ = stubborn.wait();
    let gone = act(
        api,
        host,
        json!({"action": {"type": "kill_process", "pid": 999_999_999u32}}),
    )
    .await;
    assert!(
        message(failed(&gone)).starts_with("no such process"),
        "{gone}"
    );
    let init = api
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/hosts/{host}/jobs"),
            Some(json!({"action": {"type": "kill_process", "pid": 1}})),
        )
        .await
        .unwrap_err();
    assert!(
        init.starts_with("422") && init.contains("action.pid"),
        "{init}"
    );

    // Users and groups, with the shadow tools; the password is never stored or shown.
    let (user, group) = (format!("bwu{tag}"), format!("bwg{tag}"));
    let _cleanup = AccountCleanup(user.clone(), group.clone());
    let password = format!("Pw-{tag}-never-in-clear");
    let created = act(
        api,
        host,
        json!({"action": {"type": "create_user", "name": user, "admin": true}, "password": password}),
    )
    .await;
    assert!(
        message(succeeded(&created)).contains("a member of sudo"),
        "{created}"
    );
    assert!(members_of("sudo").contains(&user));
    let hash = shadow_of(&user).split(':').nth(1).unwrap().to_owned();
    assert!(hash.starts_with('$'), "a password hash was set: {hash}");
    assert!(!created.to_string().contains(&password));
    succeeds(
        api,
        host,
        json!({"action": {"type": "set_user_enabled", "name": user, "enabled": false}}),
    )
    .await;
    assert!(
        shadow_of(&user).split(':').nth(1).unwrap().starts_with('!'),
        "locked"
    );
    succeeds(
        api,
        host,
        json!({"action": {"type": "set_user_enabled", "name": user, "enabled": true}}),
    )
    .await;
    assert!(
        !shadow_of(&user).split(':').nth(1).unwrap().starts_with('!'),
        "unlocked"
    );
    succeeds(
        api,
        host,
        json!({"action": {"type": "reset_password", "name": user}, "password": "another one"}),
    )
    .await;
    assert_ne!(
        shadow_of(&user).split(':').nth(1).unwrap(),
        hash,
        "a new hash"
    );
    succeeds(
        api,
        host,
        json!({"action": {"type": "create_group", "name": group}}),
    )
    .await;
    succeeds(
        api,
        host,
        json!({"action": {"type": "add_group_member", "group": group, "user": user}}),
    )
    .await;
    assert_eq!(members_of(&group), std::slice::from_ref(&user));
    succeeds(
        api,
        host,
        json!({"action": {"type": "remove_group_member", "group": group, "user": user}}),
    )
    .await;
    assert!(members_of(&group).is_empty());
    succeeds(
        api,
        host,
        json!({"action": {"type": "delete_group", "name": group}}),
    )
    .await;
    succeeds(
        api,
        host,
        json!({"action": {"type": "delete_user", "name": user}}),
    )
    .await;
    assert!(shadow_of(&user).is_empty());
    let nobody = act(
        api,
        host,
        json!({"action": {"type": "delete_user", "name": user}}),
    )
    .await;
    assert_eq!(message(failed(&nobody)), format!("no such user: {user}"));
    let database = std::fs::read(w.db.trim_start_matches("sqlite://")).unwrap();
    assert!(
        !String::from_utf8_lossy(&database).contains(&password),
        "the password is nowhere in the database"
    );

    // Diagnostics against this machine's loopback.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let pinged = act(
        api,
        host,
        json!({"action": {"type": "ping", "target": "127.0.0.1"}}),
    )
    .await;
    assert!(
        pinged["stdout"].as_str().unwrap().contains("4 received"),
        "{pinged}"
    );
    let traced = act(
        api,
        host,
        json!({"action": {"type": "traceroute", "target": "127.0.0.1"}}),
    )
    .await;
    assert!(message(succeeded(&traced)).contains("1 hop"), "{traced}");
    let open = act(
        api,
        host,
        json!({"action": {"type": "port_check", "target": "127.0.0.1", "port": port}}),
    )
    .await;
    assert!(message(succeeded(&open)).contains("is open"), "{open}");
    drop(listener);
    let closed = act(
        api,
        host,
        json!({"action": {"type": "port_check", "target": "127.0.0.1", "port": port}}),
    )
    .await;
    assert!(
        message(failed(&closed)).contains("not reachable"),
        "{closed}"
    );
    let listening = TcpListener::bind("127.0.0.1:0").unwrap();
    let netstat = act(api, host, json!({"action": {"type": "netstat"}})).await;
    let table = succeeded(&netstat)["stdout"].as_str().unwrap();
    let shown = format!("127.0.0.1:{}", listening.local_addr().unwrap().port());
    assert!(
        table
            .lines()
            .any(|l| l.contains("LISTEN") && l.contains(&shown)),
        "{table}"
    );
    let dns_port = free_udp_port();
    let _dnsmasq = Dnsmasq(
        Command::new("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--user=root",
                "--pid-file=",
                &format!("--port={dns_port}"),
                "--address=/probe.bulwark.test/10.9.8.7",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq (Debian's dnsmasq-base) runs the test's resolver"),
    );
    let resolved = eventually(20, "dnsmasq to answer", || async {
        let job = act(
            api,
            host,
            json!({"action": {"type": "dns_lookup", "name": "probe.bulwark.test", "server": "127.0.0.1", "server_port": dns_port}}),
        )
        .await;
        (job["status"] == "succeeded").then_some(job)
    })
    .await;
    assert!(
        message(&resolved).contains("resolves to 10.9.8.7"),
        "{resolved}"
    );
    let bad_target = api
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/hosts/{host}/jobs"),
            Some(json!({"action": {"type": "ping", "target": "127.0.0.1; reboot"}})),
        )
        .await
        .unwrap_err();
    assert!(
        bad_target.starts_with("422") && bad_target.contains("action.target"),
        "{bad_target}"
    );

    // Scripts: both locks open → it runs, output captured and capped.
    let script = json!({"action": {"type": "script", "interpreter": "bash", "script": "echo hello from $(basename $0); head -c 100000 /dev/zero | tr '\\0' x; exit 3", "timeout_secs": 30}});
    let ran = act(api, host, script.clone()).await;
    assert_eq!(
        (ran["status"].as_str(), ran["exit_code"].as_i64()),
        (Some("failed"), Some(3)),
        "{ran}"
    );
    assert!(
        ran["stdout"]
            .as_str()
            .unwrap()
            .starts_with("hello from script.sh")
    );
    assert_eq!(ran["output_truncated"], true);
    let ok = act(
        api,
        host,
        json!({"action": {"type": "script", "interpreter": "sh", "script": "id -u"}}),
    )
    .await;
    assert_eq!(succeeded(&ok)["stdout"].as_str().unwrap().trim(), "0");

    // The organization's lock: switched off, the server refuses a new script…
    let flag = |on: bool| json!({"org_id": w.org, "feature": "script_execution", "enabled": on});
    w.api
        .call(
            reqwest::Method::PUT,
            "/api/v1/feature-flags",
            Some(flag(false)),
        )
        .await
        .unwrap();
    let refused = api
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/hosts/{host}/jobs"),
            Some(script.clone()),
        )
        .await
        .unwrap_err();
    assert!(
        refused.starts_with("403") && refused.contains("script_execution"),
        "{refused}"
    );
    // …and a script queued while it was on, then switched off, does not run.
    w.api
        .call(
            reqwest::Method::PUT,
            "/api/v1/feature-flags",
            Some(flag(true)),
        )
        .await
        .unwrap();
    drop(agent);
    let marker = w.agent_dir.join("queued-script-ran");
    let queued = api
        .post(
            &format!("/api/v1/hosts/{host}/jobs"),
            json!({"action": {"type": "script", "interpreter": "sh", "script": format!("touch {}", marker.display())}}),
        )
        .await;
    w.api
        .call(
            reqwest::Method::PUT,
            "/api/v1/feature-flags",
            Some(flag(false)),
        )
        .await
        .unwrap();
    let agent = start_agent_with(&w.agent_dir.join("agent.toml"), &w.agent_dir, true);
    let stopped = ended(api, &queued).await;
    assert!(
        message(failed(&stopped)).contains("switched off"),
        "{stopped}"
    );
    assert!(!marker.exists());

    // The agent's own lock: with the flag on but allow_scripts = false, nothing runs.
    w.api
        .call(
            reqwest::Method::PUT,
            "/api/v1/feature-flags",
            Some(flag(true)),
        )
        .await
        .unwrap();
    drop(agent);
    let _agent = start_agent_with(&w.agent_dir.join("agent.toml"), &w.agent_dir, false);
    let locked = act(
        api,
        host,
        json!({"action": {"type": "script", "interpreter": "sh", "script": format!("touch {}", marker.display())}}),
    )
    .await;
    assert!(
        message(failed(&locked)).contains("allow_scripts = true"),
        "{locked}"
    );
    assert!(!marker.exists());

    // Fleet-wide list with filters, and the audit log of all of it.
    let scripts = api.get("/api/v1/jobs?kind=script&status=failed").await;
    assert!(scripts.as_array().unwrap().len() >= 3, "{scripts}");
    let audit = api.get("/api/v1/audit?action=jobs&limit=1000").await;
    let audited: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["detail"].as_str())
        .collect();
    for said in [
        format!("start service {}", service.name),
        format!("create administrator {user}"),
        format!("reset the password of {user}"),
        format!("add {user} to group {group}"),
        "kill process".to_owned(),
        "DNS lookup probe.bulwark.test".to_owned(),
        "bash script".to_owned(),
    ] {
        assert!(
            audited.iter().any(|d| d.contains(&said)),
            "{said} in {audited:#?}"
        );
    }
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "denied"
                && e["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("script_execution")),
        "the refused script is audited with why"
    );
    assert!(!audit.to_string().contains(&password));
    let csv = reqwest::Client::new()
        .get(format!("{}/api/v1/audit/export?action=jobs", w.url))
        .bearer_auth(&w.api.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("time,org_id,actor,action,target,outcome,detail,source_ip"),
        "{csv}"
    );
    assert!(csv.contains("token:root"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_audited_and_offline_hosts_let_jobs_expire() {
    let (w, agent) = world().await;
    let (api, host) = (&w.api, w.host.as_str());
    let viewer = w.api_as("viewer", "viewer", &w.org);
    let denied = viewer
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/hosts/{host}/jobs"),
            Some(json!({"action": {"type": "netstat"}})),
        )
        .await
        .unwrap_err();
    assert!(denied.starts_with("403"), "{denied}");
    let other = admin(&w.db, &["org", "create", "--name", "Elsewhere"], None);
    let outsider = w.api_as("outsider", "admin", &field(&other, "org_id"));
    let hidden = outsider
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/hosts/{host}/jobs"),
            Some(json!({"action": {"type": "netstat"}})),
        )
        .await
        .unwrap_err();
    assert!(hidden.starts_with("404"), "{hidden}");
    // A failed login is audited with its source.
    let login = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", w.url))
        .json(&json!({"username": "viewer", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401);

    let audit = api.get("/api/v1/audit").await;
    let entries = audit.as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["actor"] == "token:viewer"
            && e["outcome"] == "denied"
            && e["action"] == "POST /api/v1/hosts/{id}/jobs"),
        "{audit:#}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["actor"] == "token:outsider" && e["outcome"] == "failed")
    );
    assert!(entries.iter().any(|e| e["action"] == "auth.login"
        && e["outcome"] == "denied"
        && e["target"] == "viewer"
        && e["source_ip"] == "127.0.0.1"));

    // An offline host's job expires at its deadline, with why.
    drop(agent);
    let job = api
        .post(
            &format!("/api/v1/hosts/{host}/jobs"),
            json!({"action": {"type": "netstat"}, "deadline_secs": 30}),
        )
        .await;
    let expired = ended(api, &job).await;
    assert_eq!(expired["status"], "expired", "{expired}");
    assert!(message(&expired).contains("deadline"));
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        ^ std::process::id()
}

/// One action per host tab from a real browser (ui-tests/host_control.mjs), against the real
/// agent on this machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_control_in_a_real_browser() {
    let (ui_tests, chromium) = support::browser_harness();
    let (w, _agent) = world().await;
    let admin_password = "an admin password for the browser";
    admin(
        &w.db,
        &["user", "create", "--username", "ada", "--role", "admin"],
        Some(admin_password),
    );
    let tag = format!("{:x}", rand_suffix());
    let service = InitScript::install(&format!("bwui{tag}"));
    let mut sleeper = Command::new("sleep").arg("300").spawn().unwrap();
    let (user, group) = (format!("bwbu{tag}"), format!("bwbg{tag}"));
    let _cleanup = AccountCleanup(user.clone(), group.clone());
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    let out = Command::new("node")
        .arg(ui_tests.join("host_control.mjs"))
        .current_dir(&ui_tests)
        .env("BULWARK_URL", &w.url)
        .env("ADMIN_USER", "ada")
        .env("ADMIN_PASSWORD", admin_password)
        .env("HOST_ID", &w.host)
        .env("SERVICE", &service.name)
        .env("PID", sleeper.id().to_string())
        .env("USER_NAME", &user)
        .env("GROUP_NAME", &group)
        .env("SCREENSHOTS", &screenshots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs (install nodejs)");
    let _ = sleeper.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\nscreenshots: {}", screenshots.display());
    assert!(
        out.status.success(),
        "the host-control browser test failed:\n{stdout}\n{stderr}\nagent log:\n{}",
        std::fs::read_to_string(w.agent_dir.join("agent-true.log")).unwrap_or_default(),
    );
    assert!(service.running(), "the service the browser started runs");
}
