//! The machine the tests run on, as a customer's host: `bulwark serve` and a real
//! `bulwark-agent run` reading `/`. Every inventory category arrives (a live host's floats and
//! odd strings included), services carry a state from the running init system or the reason
//! none answered, and a scan of `/` completes with a score.

mod support;

use std::path::Path;

use bulwark_core::inventory::CATEGORIES;
use support::{
    Api, admin, eventually, field, online_host, scan_with_linux_l1, serve, start_agent,
    write_config,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_on_this_machine_sends_everything_and_scans() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/bulwark.db", dir.path().display());
    let org = admin(&db, &["org", "create", "--name", "Live"], None);
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
    let config = write_config(
        dir.path(),
        &url,
        &field(&org, "enrollment_secret"),
        Path::new("/"),
    );
    let log = dir.path().join("agent.log");
    let _agent = start_agent(&config, &log);
    let host = online_host(&api, &field(&org, "org_id")).await;
    let host_id = host["id"].as_str().unwrap().to_owned();

    // Every category, processes (CPU shares as floats) among them, is accepted and served.
    for category in CATEGORIES {
        let path = format!("/api/v1/hosts/{host_id}/{category}");
        let value = eventually(60, &format!("the {category} inventory"), || async {
            api.call(reqwest::Method::GET, &path, None).await.ok()
        })
        .await;
        assert!(!value.is_null(), "{category}: {value}");
    }
    let processes = api.get(&format!("/api/v1/hosts/{host_id}/processes")).await;
    assert!(
        processes.as_array().is_some_and(|p| p.len() > 1),
        "{processes}"
    );
    let detail = api.get(&format!("/api/v1/hosts/{host_id}")).await;
    assert!(
        detail["host"]["inventory_refused"].is_null(),
        "no refusal: {detail}"
    );
    let agent_log = std::fs::read_to_string(&log).unwrap();
    assert!(
        !agent_log.contains("inventory sync failed"),
        "the agent's log: {agent_log}"
    );

    // Services: a real state where an init system answers, else `unknown` with the reason.
    let services = api.get(&format!("/api/v1/hosts/{host_id}/services")).await;
    let services = services.as_array().expect("services are a list");
    assert!(!services.is_empty(), "this machine has services");
    for s in services {
        assert!(
            s["state_source"].as_str().is_some_and(|r| !r.is_empty()),
            "{s}: where the state came from, or why it is unknown"
        );
    }
    let init_answers = Path::new("/run/systemd/system").is_dir()
        || std::fs::read_dir("/etc/init.d").is_ok_and(|mut d| d.next().is_some());
    if init_answers {
        assert!(
            services.iter().any(|s| s["state"] != "unknown"),
            "an init system runs here but no service has a state: {services:?}"
        );
    }

    // A scan of `/` completes and is scored.
    let done = scan_with_linux_l1(&api, &field(&org, "org_id"), &host_id, 180).await;
    let score = done["score"].as_f64().expect("a live scan is scorable");
    assert!((0.0..=100.0).contains(&score), "{done}");
    assert!(
        done["passed"].as_i64().unwrap() + done["failed"].as_i64().unwrap() > 50,
        "{done}"
    );
}
