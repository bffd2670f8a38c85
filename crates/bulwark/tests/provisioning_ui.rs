//! The provisioning gate in a real browser (ui-tests/provisioning.mjs) against the real
//! server: the overview's cards, a machine blocked in block mode (it never answers SSH), its
//! release by an administrator with a reason, the Scan Results and Settings tabs, and the
//! audit entry the release wrote.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::json;
use support::{Api, admin, eventually, field, serve_with};

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
