//! A server stopped with Ctrl-C or SIGTERM writes the heartbeat times it still holds in
//! memory, so a clean stop never makes an agent look silent.

mod support;

use std::process::Command;

use support::{
    Api, admin, debian_root, enroll_once, eventually, field, serve_on, serve_with, start_agent,
    write_config,
};

#[tokio::test]
async fn a_clean_stop_writes_the_last_heartbeats() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bulwark.db").display());
    let secret = field(
        &admin(&db, &["org", "create", "--name", "Acme"], None),
        "enrollment_secret",
    );
    admin(
        &db,
        &["user", "create", "--username", "ops", "--role", "admin"],
        Some("a long enough password\n"),
    );
    let token = field(
        &admin(&db, &["token", "create", "--user", "ops"], None),
        "token",
    );
    // Heartbeat times wait in memory for an hour: only the stop can write them.
    let config = dir.path().join("bulwark.toml");
    std::fs::write(&config, "heartbeat_flush_secs = 3600\n").unwrap();
    let (server, url) = serve_with(&[
        "--database-url",
        &db,
        "--listen",
        "127.0.0.1:0",
        "--config",
        config.to_str().unwrap(),
    ]);

    let root = debian_root();
    let agent_dir = tempfile::tempdir().unwrap();
    let agent_config = write_config(agent_dir.path(), &url, &secret, &root.path());
    let (enrolled, why) = enroll_once(&agent_config);
    assert!(enrolled, "{why}");
    let api = Api {
        http: reqwest::Client::new(),
        url: url.clone(),
        token,
    };
    let hosts = api.get("/api/v1/hosts").await;
    let host_id = hosts[0]["id"].as_str().unwrap().to_owned();
    let enrolled_at = hosts[0]["last_seen_at"].as_i64().unwrap();

    // Heartbeats carry whole seconds: the agent starts once the clock has left the
    // enrollment's second, so its first heartbeat is told apart from it.
    eventually(5, "the clock to pass the enrollment's second", || async {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs() as i64;
        (now > enrolled_at).then_some(())
    })
    .await;
    let log = agent_dir.path().join("agent.log");
    let agent = start_agent(&agent_config, &log);
    eventually(30, "the agent's first heartbeat", || async {
        let text = std::fs::read_to_string(&log).ok()?;
        text.contains("feature flags").then_some(())
    })
    .await;
    drop(agent);
    let before_stop = api.get(&format!("/api/v1/hosts/{host_id}")).await;
    assert_eq!(
        before_stop["host"]["last_seen_at"].as_i64(),
        Some(enrolled_at),
        "the heartbeat is still only in memory: {before_stop}"
    );

    // SIGTERM, as a service manager or container runtime stops it.
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut server = server;
    let status = server.0.wait().unwrap();
    assert!(
        status.success(),
        "the server stops cleanly on SIGTERM: {status}"
    );

    let (_again, url) = serve_on(&db, "127.0.0.1:0");
    let api = Api { url, ..api };
    let after = api.get(&format!("/api/v1/hosts/{host_id}")).await;
    let seen = after["host"]["last_seen_at"].as_i64().unwrap();
    assert!(
        seen > enrolled_at,
        "the heartbeat was written on stop: {after}"
    );
}
