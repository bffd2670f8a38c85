//! End to end with real processes: `bulwark serve` on 127.0.0.1:0 over SQLite and
//! `bulwark-agent run` processes, one reading a Debian 12 fixture root and one this machine.
//! An agent enrolls and its host goes online, an on-demand scan completes with a score, a
//! server killed with SIGKILL in the middle of a scan and started again ends with exactly one
//! completed scan, and the server refuses forged, replayed and skewed requests, a bad
//! organization secret and an agent id enrolled with another key.

mod support;

use std::path::Path;

use bulwark_protocol::AgentKey;
use bulwark_protocol::signing::RequestParts;
use bulwark_protocol::wire;
use serde_json::{Value, json};
use support::{
    Api, admin, debian_root, enroll_once, eventually, field, online_host, scan_reaches,
    scan_with_linux_l1, serve, serve_on, start_agent, write_config,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_enroll_scan_and_survive_a_server_crash() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/bulwark.db", dir.path().display());
    let acme = admin(&db, &["org", "create", "--name", "Acme"], None);
    let slow = admin(&db, &["org", "create", "--name", "Slowco"], None);
    admin(
        &db,
        &["user", "create", "--username", "root", "--role", "admin"],
        Some("a long enough password\n"),
    );
    let token = field(
        &admin(&db, &["token", "create", "--user", "root"], None),
        "token",
    );
    let (mut server, url) = serve(&db);
    let api = Api {
        http: reqwest::Client::new(),
        url: url.clone(),
        token,
    };

    // An agent on a Debian 12 root enrolls; its host appears online with its inventory.
    let fixture = debian_root();
    let acme_dir = dir.path().join("acme");
    std::fs::create_dir_all(&acme_dir).unwrap();
    let acme_config = write_config(
        &acme_dir,
        &url,
        &field(&acme, "enrollment_secret"),
        &fixture.path(),
    );
    let _acme_agent = start_agent(&acme_config, &acme_dir.join("agent.log"));
    let host = online_host(&api, &field(&acme, "org_id")).await;
    let host_id = host["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (host["os_id"].as_str(), host["health"].as_str()),
        (Some("debian"), Some("healthy"))
    );
    let software = eventually(30, "the software inventory", || async {
        api.call(
            reqwest::Method::GET,
            &format!("/api/v1/hosts/{host_id}/software"),
            None,
        )
        .await
        .ok()
    })
    .await;
    assert!(
        software
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "openssh-server"),
        "{software}"
    );

    // An on-demand scan completes with the score the local scan of this root gives.
    let done = scan_with_linux_l1(&api, &field(&acme, "org_id"), &host_id, 60).await;
    let local = std::process::Command::new(support::agent_binary())
        .args([
            "scan",
            "--template",
            "cis-linux-l1",
            "--format",
            "json",
            "--root",
        ])
        .arg(fixture.path())
        .output()
        .unwrap();
    let local: Value = serde_json::from_slice(&local.stdout).unwrap();
    assert_eq!(
        (
            done["passed"].as_i64(),
            done["failed"].as_i64(),
            done["skipped"].as_i64()
        ),
        (
            local["counts"]["pass"].as_i64(),
            local["counts"]["fail"].as_i64(),
            local["counts"]["skip"].as_i64()
        ),
        "{done}"
    );
    assert!(done["score"].as_f64().unwrap() > 0.0);

    // This machine's agent runs a slow custom check; the server is killed mid-scan.
    let slow_org = field(&slow, "org_id");
    let copy = api
        .post(
            "/api/v1/compliance/templates/cis-linux-l1/copy",
            json!({"name": "Slow", "org_id": slow_org}),
        )
        .await;
    let tid = copy["id"].as_str().unwrap().to_owned();
    let all: Vec<Value> = api
        .get(&format!("/api/v1/compliance/templates/{tid}"))
        .await["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    api.post(
        &format!("/api/v1/compliance/templates/{tid}/checks/bulk-toggle"),
        json!({"check_ids": all, "enabled": false}),
    )
    .await;
    let custom = |id: &str, argv: [&str; 2], timeout: u64| {
        json!({
            "id": id, "title": id, "category": "Services", "severity": "low", "description": "d", "rationale": "r",
            "remediation": {"text": "none"},
            "probe": {"kind": "command", "argv": argv, "timeout_secs": timeout, "output": "exit_code"},
            "expect": {"op": "equals", "value": "0"},
        })
    };
    api.post(
        &format!("/api/v1/compliance/templates/{tid}/checks"),
        custom("SLOW-1", ["/bin/sleep", "4"], 30),
    )
    .await;
    api.post(
        &format!("/api/v1/compliance/templates/{tid}/checks"),
        custom("HANG-1", ["/bin/sleep", "600"], 1),
    )
    .await;
    let slow_policy = api
        .post("/api/v1/compliance/policies", json!({
            "org_id": slow_org, "name": "Slow", "os_type": "linux", "template_id": tid, "scan_interval_hours": 24
        }))
        .await;
    let slow_dir = dir.path().join("slow");
    std::fs::create_dir_all(&slow_dir).unwrap();
    let slow_config = write_config(
        &slow_dir,
        &url,
        &field(&slow, "enrollment_secret"),
        Path::new("/"),
    );
    // Its checks are commands: this host's owner opts in to running them.
    let mut text = std::fs::read_to_string(&slow_config).unwrap();
    text.push_str("allow_commands = true\n");
    std::fs::write(&slow_config, text).unwrap();
    let _slow_agent = start_agent(&slow_config, &slow_dir.join("agent.log"));
    let live_host = online_host(&api, &slow_org).await;
    let scan = api
        .post(
            "/api/v1/compliance/scans",
            json!({"policy_id": slow_policy["id"], "host_id": live_host["id"]}),
        )
        .await;
    let scan_id = scan["id"].as_str().unwrap().to_owned();
    scan_reaches(&api, &scan_id, "running", 60).await;
    let _ = server.0.kill();
    let _ = server.0.wait();
    drop(server);
    // The agent finishes the scan while the server is down and spools the results.
    let spool = slow_dir.join("state/spool");
    eventually(30, "the results to be spooled", || async {
        let items = std::fs::read_dir(&spool)
            .ok()?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count();
        (items > 0).then_some(())
    })
    .await;
    let listen = url.trim_start_matches("http://").to_owned();
    let (server, _) = serve_on(&db, &listen);
    let done = scan_reaches(&api, &scan_id, "completed", 60).await;
    let results = api
        .get(&format!("/api/v1/compliance/scans/{scan_id}/results"))
        .await;
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 2, "each check once: {results:?}");
    let status = |id: &str| {
        results
            .iter()
            .find(|r| r["check_id"] == id)
            .map(|r| (r["status"].clone(), r["reason"].clone()))
    };
    assert_eq!(status("SLOW-1").unwrap().0, "pass");
    let (hang, why) = status("HANG-1").unwrap();
    assert_eq!(hang, "error", "a hanging check is killed at its timeout");
    assert!(why.as_str().unwrap().contains("timed out"), "{why}");
    let scans = api
        .get(&format!(
            "/api/v1/compliance/scans?host_id={}",
            live_host["id"].as_str().unwrap()
        ))
        .await;
    let completed: Vec<&Value> = scans
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "completed")
        .collect();
    assert_eq!(completed.len(), 1, "exactly one completed scan: {scans}");
    assert_eq!(done["total"], 2);
    eventually(30, "the spool to empty", || async {
        let left = std::fs::read_dir(&spool)
            .ok()?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count();
        (left == 0).then_some(())
    })
    .await;

    refusals(&url, &field(&acme, "enrollment_secret"), &acme_dir).await;
    drop(server);
}

/// Enrollment and signature refusals against the real server.
async fn refusals(url: &str, secret: &str, enrolled_dir: &Path) {
    let dir = tempfile::tempdir().unwrap();
    // A wrong organization secret: the agent says what to check.
    let config = write_config(dir.path(), url, "bwe_wrong", Path::new("/"));
    let (ok, stderr) = enroll_once(&config);
    assert!(
        !ok && stderr.contains("organization secret") && stderr.contains("org_secret"),
        "{stderr}"
    );
    // An agent id already enrolled, with another key: 422 and how to reset the agent.
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::copy(enrolled_dir.join("state/agent_id"), state.join("agent_id")).unwrap();
    let config = write_config(dir.path(), url, secret, Path::new("/"));
    let (ok, stderr) = enroll_once(&config);
    assert!(
        !ok && stderr.contains("already enrolled with another key") && stderr.contains("delete"),
        "{stderr}"
    );

    // A fresh identity enrolled over HTTP, then forged, replayed and skewed requests.
    let http = reqwest::Client::new();
    let key = AgentKey::generate();
    let agent_id = "e2e-probe";
    let enroll = json!({
        "agent_id": agent_id, "org_secret": secret, "public_key": key.public_hex(), "agent_version": "test",
        "system": {"hostname": "probe", "os_kind": "linux", "os_id": "debian", "os_version": "12", "os_name": "",
                   "kernel": "", "architecture": "", "uptime_secs": null},
    });
    let r = http
        .post(format!("{url}{}", wire::ENROLL_PATH))
        .json(&enroll)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let body = json!({"agent_version": "test"}).to_string();
    let signed = |key: &AgentKey, at: i64, body: &str| {
        let parts = RequestParts {
            method: "POST",
            path: wire::HEARTBEAT_PATH,
            query: "",
            body: body.as_bytes(),
        };
        key.sign_request(agent_id, &parts, at)
    };
    let send = |headers: bulwark_protocol::SignedHeaders, body: String| {
        let mut req = http
            .post(format!("{url}{}", wire::HEARTBEAT_PATH))
            .header("content-type", "application/json");
        for (k, v) in headers.pairs() {
            req = req.header(k, v);
        }
        async move {
            let r = req.body(body).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let now = bulwark_store::now();
    let good = signed(&key, now, &body);
    assert_eq!(send(good.clone(), body.clone()).await.0, 200);
    let cases = [
        (good, body.clone(), "replay"),
        (
            signed(&AgentKey::generate(), now, &body),
            body.clone(),
            "signature does not match",
        ),
        (
            signed(&key, now, &body),
            json!({"agent_version": "evil"}).to_string(),
            "signature does not match",
        ),
        (signed(&key, now - 3600, &body), body.clone(), "clock is"),
    ];
    for (headers, body, words) in cases {
        let (status, text) = send(headers, body).await;
        assert_eq!(status, 401, "{text}");
        assert!(text.contains(words), "{words:?} in {text}");
    }
}
