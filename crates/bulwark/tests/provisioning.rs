//! The provisioning gate against the real server: a provisioned machine whose agent already
//! enrolled is scanned by that agent (this machine, for real); and in a real browser
//! (ui-tests/provisioning.mjs) the overview's cards, a machine blocked in block mode (it never
//! answers SSH), its release by an administrator with a reason, the Scan Results and Settings
//! tabs, and the audit entry the release wrote.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::json;
use support::{
    Api, admin, eventually, field, online_host, serve, serve_with, start_agent, write_config,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_overview_blocked_machine_and_release_in_a_real_browser() {
    let (ui_tests, chromium) = support::browser_harness();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/bulwark.db", dir.path().display());
    let org = field(
        &admin(&db, &["org", "create", "--name", "Provisioning"], None),
        "org_id",
    );
    let password = "an admin password for the browser";
    admin(
        &db,
        &["user", "create", "--username", "ada", "--role", "admin"],
        Some(password),
    );
    let token = field(
        &admin(&db, &["token", "create", "--user", "ada"], None),
        "token",
    );
    let config = dir.path().join("bulwark.toml");
    std::fs::write(&config, "provisioning_connect_wait_secs = 1\n").unwrap();
    let (_server, url) = serve_with(&[
        "--database-url",
        &db,
        "--listen",
        "127.0.0.1:0",
        "--config",
        config.to_str().unwrap(),
    ]);
    let api = Api {
        http: reqwest::Client::new(),
        url: url.clone(),
        token,
    };
    let credential = api
        .post(
            "/api/v1/ssh-credentials",
            json!({"org_id": org, "name": "provisioning", "kind": "private_key", "generate": true}),
        )
        .await["credential"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api.call(
        reqwest::Method::PUT,
        "/api/v1/provisioning/settings",
        Some(json!({"org_id": org, "settings": {
            "enabled": true, "enforcement_mode": "block", "ssh_user": "nobody", "ssh_credential_id": credential,
        }})),
    )
    .await
    .unwrap();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let recorded = api
        .post(
            "/api/v1/provisioned-vms",
            json!({"org_id": org, "run_id": "run-ui", "provider": "vmware", "project": "web",
                "machines": [{"address": "127.0.0.1", "port": closed_port, "hostname": "vm-ui"}]}),
        )
        .await;
    let id = recorded[0]["id"].as_str().unwrap().to_owned();
    eventually(60, "the unreachable machine to be blocked", || async {
        let vm = api.get(&format!("/api/v1/provisioned-vms/{id}")).await;
        (vm["status"] == "failed" && vm["handover_blocked"] == true).then_some(())
    })
    .await;

    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    let out = Command::new("node")
        .arg(ui_tests.join("provisioning.mjs"))
        .current_dir(&ui_tests)
        .env("BULWARK_URL", &url)
        .env("ADMIN_USER", "ada")
        .env("ADMIN_PASSWORD", password)
        .env("SCREENSHOTS", &screenshots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs (install nodejs)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\nscreenshots: {}", screenshots.display());
    assert!(
        out.status.success(),
        "the provisioning browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let handover = api
        .get(&format!("/api/v1/provisioned-vms/{id}/handover"))
        .await;
    assert_eq!(handover["allowed"], true, "{handover}");
    assert_eq!(handover["released_by"], "ada");
    let settings = api
        .get(&format!("/api/v1/provisioning/settings?org_id={org}"))
        .await;
    assert_eq!(
        settings["settings"]["min_score"], 80.0,
        "the browser saved the settings form"
    );
}

/// A machine that enrolled an agent is scanned by it: the same gate, without SSH.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioned_machine_with_an_agent_is_scanned_by_its_agent() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/bulwark.db", dir.path().display());
    let created = admin(&db, &["org", "create", "--name", "Agents"], None);
    let org = field(&created, "org_id");
    admin(
        &db,
        &["user", "create", "--username", "root", "--role", "admin"],
        Some("a long enough password\n"),
    );
    let token = field(
        &admin(&db, &["token", "create", "--user", "root"], None),
        "token",
    );
    let (_server, url) = serve(&db);
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
        &field(&created, "enrollment_secret"),
        Path::new("/"),
    );
    let _agent = start_agent(&config, &agent_dir.join("agent.log"));
    let host = online_host(&api, &org).await;
    let hostname = host["hostname"].as_str().unwrap().to_owned();
    api.call(
        reqwest::Method::PUT,
        "/api/v1/provisioning/settings",
        Some(json!({"org_id": org, "settings": {
            "enabled": true, "enforcement_mode": "block", "min_score": 0, "block_on_critical": false,
            "exempted_rules": ["CIS-1.1.1.1"],
        }})),
    )
    .await
    .unwrap();
    let recorded = api
        .post(
            "/api/v1/provisioned-vms",
            json!({"org_id": org, "run_id": "packer-7", "machines": [{"address": "127.0.0.1", "hostname": hostname}]}),
        )
        .await;
    let id = recorded[0]["id"].as_str().unwrap().to_owned();
    let vm = eventually(
        240,
        "the agent's scan of the provisioned machine",
        || async {
            let vm = api.get(&format!("/api/v1/provisioned-vms/{id}")).await;
            vm["status"]
                .as_str()
                .is_some_and(|s| s != "pending" && s != "running")
                .then_some(vm)
        },
    )
    .await;
    assert_eq!(vm["status"], "completed", "{vm}");
    assert_eq!(
        vm["host_id"], host["id"],
        "scanned through the enrolled agent, not a new SSH host"
    );
    assert_eq!(vm["handover_blocked"], false, "{vm}");
    assert!(vm["score"].as_f64().is_some());
    let scan = api
        .get(&format!(
            "/api/v1/compliance/scans/{}",
            vm["scan_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(scan["trigger_kind"], "provision");
    assert_eq!(scan["template_id"], "cis-linux-l1");
    let results = api
        .get(&format!(
            "/api/v1/compliance/scans/{}/results",
            vm["scan_id"].as_str().unwrap()
        ))
        .await;
    let exempted = results
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check_id"] == "CIS-1.1.1.1")
        .unwrap();
    assert_eq!(exempted["status"], "skip", "{exempted}");
    let hosts = api.get("/api/v1/hosts").await;
    assert_eq!(
        hosts.as_array().unwrap().len(),
        1,
        "no agentless twin was registered"
    );
}
