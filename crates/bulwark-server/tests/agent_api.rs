//! The agent API in process: enrollment, signed requests and their refusals, heartbeat,
//! differential inventory, jobs by long poll, and results finishing a scan.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bulwark_core::CheckOutcome;
use bulwark_core::inventory::{CATEGORIES, Interface, SystemInfo};
use bulwark_protocol::jobs::Opened;
use bulwark_protocol::signing::RequestParts;
use bulwark_protocol::wire::{self, AgentResult, EnrollRequest};
use bulwark_protocol::{AgentKey, JobKind, SignedJob};
use bulwark_store::Scope;
use common::{Reply, TestApp, trigger};
use serde_json::{Value, json};

const SECRET: &str = "bwo_test_secret_of_alpha";

async fn app() -> TestApp {
    let app = TestApp::new().await;
    app.state
        .store
        .set_org_secret(
            &Scope::All,
            &app.a.id,
            &bulwark_server::auth::hash_secret(SECRET),
        )
        .await
        .unwrap();
    app
}

struct Agent {
    id: String,
    key: AgentKey,
}

fn system(hostname: &str) -> SystemInfo {
    SystemInfo {
        hostname: hostname.into(),
        os_kind: "linux".into(),
        os_id: "debian".into(),
        os_version: "12".into(),
        os_name: "Debian GNU/Linux 12 (bookworm)".into(),
        kernel: "6.1.0-18-amd64".into(),
        architecture: "x86_64".into(),
        uptime_secs: Some(100),
    }
}

fn enroll_body(agent: &Agent, secret: &str) -> Value {
    serde_json::to_value(EnrollRequest {
        agent_id: agent.id.clone(),
        org_secret: secret.into(),
        public_key: agent.key.public_hex(),
        agent_version: "0.1.0".into(),
        system: system("db-7"),
        interfaces: vec![Interface {
            name: "eth0".into(),
            mac: "52:54:00:12:34:56".into(),
            addresses: vec!["10.0.0.7/24".into()],
            up: true,
        }],
    })
    .unwrap()
}

impl Agent {
    fn new(id: &str) -> Agent {
        Agent {
            id: id.into(),
            key: AgentKey::generate(),
        }
    }

    async fn enroll(&self, app: &TestApp) -> Value {
        let r = app
            .send(
                "POST",
                wire::ENROLL_PATH,
                None,
                Some(&enroll_body(self, SECRET).to_string()),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json()
    }

    /// A signed request, signed at `at` (Unix seconds).
    fn request(&self, method: &str, path_and_query: &str, body: &str, at: i64) -> Request<Body> {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let parts = RequestParts {
            method,
            path,
            query,
            body: body.as_bytes(),
        };
        let signed = self.key.sign_request(&self.id, &parts, at);
        let mut req = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("content-type", "application/json");
        for (name, value) in signed.pairs() {
            req = req.header(name, value);
        }
        req.body(Body::from(body.to_owned())).unwrap()
    }

    async fn call(&self, app: &TestApp, method: &str, path: &str, body: Value) -> Reply {
        let body = if method == "GET" {
            String::new()
        } else {
            body.to_string()
        };
        app.dispatch(self.request(method, path, &body, bulwark_store::now()))
            .await
    }

    async fn ok(&self, app: &TestApp, method: &str, path: &str, body: Value) -> Value {
        let r = self.call(app, method, path, body).await;
        assert_eq!(r.status, StatusCode::OK, "{method} {path}: {}", r.text);
        r.json()
    }
}

#[tokio::test]
async fn enrollment_checks_the_secret_the_id_and_the_key() {
    let app = app().await;
    let agent = Agent::new("6f1c2d1e-8b1a-4c53-9d2e-7f0a1b2c3d4e");
    let cases: Vec<(Value, StatusCode, Option<&str>, &str)> = vec![
        (
            enroll_body(&agent, "wrong"),
            StatusCode::UNAUTHORIZED,
            None,
            "organization secret",
        ),
        (
            {
                let mut b = enroll_body(&agent, SECRET);
                b["agent_id"] = json!("../../etc/passwd");
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("agent_id"),
            "agent ids are",
        ),
        (
            {
                let mut b = enroll_body(&agent, SECRET);
                b["public_key"] = json!("abcd");
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("public_key"),
            "Ed25519",
        ),
        (
            {
                let mut b = enroll_body(&agent, SECRET);
                b["system"]["os_kind"] = json!("plan9");
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("system.os_kind"),
            "plan9",
        ),
        (
            {
                let mut b = enroll_body(&agent, SECRET);
                b["surprise"] = json!(1);
                b
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("surprise"),
            "unknown field",
        ),
    ];
    for (body, status, field, words) in cases {
        let r = app
            .send("POST", wire::ENROLL_PATH, None, Some(&body.to_string()))
            .await;
        assert_eq!(
            (r.status, r.field().as_deref()),
            (status, field),
            "{}",
            r.text
        );
        assert!(r.text.contains(words), "{words:?} in {}", r.text);
    }
    assert!(
        app.state.store.agent(&agent.id).await.unwrap().is_none(),
        "nothing stored"
    );

    let first = agent.enroll(&app).await;
    let again = agent.enroll(&app).await;
    assert_eq!(
        first["host_id"], again["host_id"],
        "re-enrolling with the same key keeps the host"
    );
    assert_eq!(first["heartbeat_secs"], 60);

    let impostor = Agent {
        id: agent.id.clone(),
        key: AgentKey::generate(),
    };
    let r = app
        .send(
            "POST",
            wire::ENROLL_PATH,
            None,
            Some(&enroll_body(&impostor, SECRET).to_string()),
        )
        .await;
    assert_eq!(
        (r.status, r.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("agent_id"))
    );
    assert!(
        r.text.contains("delete its state directory's agent_id"),
        "says how to reset: {}",
        r.text
    );

    let host = app
        .ok(
            "GET",
            &format!("/api/v1/hosts/{}", first["host_id"].as_str().unwrap()),
            &app.root,
            None,
        )
        .await;
    assert_eq!(host["host"]["status"], "online");
    assert_eq!(host["host"]["agent_id"], agent.id);
    assert_eq!(
        host["inventory"]["network"]["interfaces"][0]["name"], "eth0",
        "enrollment's interfaces"
    );
    assert_eq!(host["inventory"]["system"]["kernel"], "6.1.0-18-amd64");
}

/// Requests that arrive together have their nonces written in one batch; a copy of a request
/// in the same batch is a replay all the same.
#[tokio::test]
async fn a_burst_with_replayed_copies_accepts_each_request_once() {
    let app = app().await;
    let agent = Agent::new("agent-burst");
    agent.enroll(&app).await;
    let beat = json!({"agent_version": "0.1.0"}).to_string();
    let copy = |req: &Request<Body>| {
        let mut again = Request::builder().method("POST").uri(wire::HEARTBEAT_PATH);
        for (k, v) in req.headers() {
            again = again.header(k, v);
        }
        again.body(Body::from(beat.clone())).unwrap()
    };
    let fresh: Vec<Request<Body>> = (0..40)
        .map(|_| agent.request("POST", wire::HEARTBEAT_PATH, &beat, bulwark_store::now()))
        .collect();
    let copies: Vec<Request<Body>> = fresh.iter().step_by(4).map(copy).collect();
    let sent = fresh.len() + copies.len();
    let replies =
        futures::future::join_all(fresh.into_iter().chain(copies).map(|r| app.dispatch(r))).await;
    let accepted = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let refused: Vec<&str> = replies
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .map(|r| r.text.as_str())
        .collect();
    assert_eq!((accepted, refused.len()), (40, sent - 40), "{refused:?}");
    assert!(refused.iter().all(|t| t.contains("replay")), "{refused:?}");
}

#[tokio::test]
async fn signed_requests_are_refused_when_forged_replayed_skewed_or_unknown() {
    let app = app().await;
    let agent = Agent::new("agent-sig");
    agent.enroll(&app).await;
    let now = bulwark_store::now();
    let beat = json!({"agent_version": "0.1.0"}).to_string();

    let good = agent.request("POST", wire::HEARTBEAT_PATH, &beat, now);
    let replay = agent.request("POST", wire::HEARTBEAT_PATH, &beat, now);
    // The same signed request twice: rebuild it with the first one's headers.
    let mut replayed = Request::builder().method("POST").uri(wire::HEARTBEAT_PATH);
    for (k, v) in good.headers() {
        replayed = replayed.header(k, v);
    }
    let replayed = replayed.body(Body::from(beat.clone())).unwrap();
    assert_eq!(app.dispatch(good).await.status, StatusCode::OK);
    let r = app.dispatch(replayed).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("replay"), "{}", r.text);
    assert_eq!(
        app.dispatch(replay).await.status,
        StatusCode::OK,
        "a fresh nonce is fine"
    );

    let mut forged = agent.request("POST", wire::HEARTBEAT_PATH, &beat, now);
    *forged.body_mut() = Body::from(json!({"agent_version": "6.6.6"}).to_string());
    let cases = [
        (forged, "signature does not match"),
        (
            agent.request("POST", wire::HEARTBEAT_PATH, &beat, now - 3600),
            "clock is",
        ),
        (
            Agent::new("never-enrolled").request("POST", wire::HEARTBEAT_PATH, &beat, now),
            "not enrolled",
        ),
        (
            Request::builder()
                .method("POST")
                .uri(wire::HEARTBEAT_PATH)
                .header("authorization", format!("Bearer {}", app.root))
                .body(Body::from(beat.clone()))
                .unwrap(),
            "header",
        ),
    ];
    for (req, words) in cases {
        let r = app.dispatch(req).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert!(r.text.contains(words), "{words:?} in {}", r.text);
    }

    // A removed agent is unknown until it enrolls again with the secret.
    let host = app
        .state
        .store
        .agent(&agent.id)
        .await
        .unwrap()
        .unwrap()
        .host_id;
    app.ok("DELETE", &format!("/api/v1/hosts/{host}"), &app.root, None)
        .await;
    let r = agent
        .call(
            &app,
            "POST",
            wire::HEARTBEAT_PATH,
            json!({"agent_version": "0.1.0"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("enroll it again"), "{}", r.text);
    agent.enroll(&app).await;
    agent
        .ok(
            &app,
            "POST",
            wire::HEARTBEAT_PATH,
            json!({"agent_version": "0.1.0"}),
        )
        .await;
}

#[tokio::test]
async fn heartbeat_answers_pending_jobs_and_feature_flags() {
    let app = app().await;
    let agent = Agent::new("agent-beat");
    let host = agent.enroll(&app).await["host_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let beat = json!({"agent_version": "0.2.0", "spool_dropped": 3});
    let answer = agent
        .ok(&app, "POST", wire::HEARTBEAT_PATH, beat.clone())
        .await;
    assert_eq!(answer["pending_jobs"], 0);
    assert_eq!(answer["features"]["terminal"], true, "no flag: enabled");

    app.ok(
        "PUT",
        "/api/v1/feature-flags",
        &app.root,
        Some(json!({"feature": "terminal", "enabled": false})),
    )
    .await;
    app.ok(
        "PUT",
        "/api/v1/feature-flags",
        &app.root,
        Some(json!({"org_id": app.a.id, "feature": "script_execution", "enabled": false})),
    )
    .await;
    let bad = app
        .call(
            "PUT",
            "/api/v1/feature-flags",
            &app.root,
            Some(json!({"feature": "teleport", "enabled": false})),
        )
        .await;
    assert_eq!(
        (bad.status, bad.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("feature"))
    );

    let policy = linux_policy(&app).await;
    trigger(&app, &policy, &host).await;
    let answer = agent.ok(&app, "POST", wire::HEARTBEAT_PATH, beat).await;
    assert_eq!(answer["pending_jobs"], 1);
    assert_eq!(answer["features"]["terminal"], false);
    assert_eq!(answer["features"]["script_execution"], false);
    assert_eq!(answer["features"]["file_browser"], true);

    app.state
        .presence
        .flush(app.state.store.as_ref())
        .await
        .unwrap();
    let h = app
        .ok("GET", &format!("/api/v1/hosts/{host}"), &app.root, None)
        .await;
    assert_eq!(h["host"]["agent_version"], "0.2.0");
    assert_eq!(h["host"]["spool_dropped"], 6, "dropped counts add up");
    assert_eq!(h["host"]["health"], "healthy");
}

async fn linux_policy(app: &TestApp) -> String {
    let p = app
        .ok("POST", "/api/v1/compliance/policies", app.token("user"), Some(json!({
            "name": "Linux", "os_type": "linux", "template_id": "cis-linux-l1", "scan_interval_hours": 24
        })))
        .await;
    p["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn inventory_is_differential_and_validated() {
    let app = app().await;
    let agent = Agent::new("agent-inv");
    let host = agent.enroll(&app).await["host_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut inventory = bulwark_core::HostInventory::default();
    inventory.system = system("db-7-renamed");
    inventory.software = vec![bulwark_core::inventory::Software {
        name: "openssh-server".into(),
        version: "1:9.2p1-2".into(),
    }];
    let split = bulwark_protocol::inventory::categories(&inventory);
    let hashes: serde_json::Map<String, Value> = split
        .iter()
        .map(|(k, (h, _))| (k.clone(), json!(h)))
        .collect();
    let all: serde_json::Map<String, Value> = split
        .iter()
        .map(|(k, (_, v))| (k.clone(), serde_json::from_str(v.text()).unwrap()))
        .collect();

    // Only hashes: the server asks for everything it lacks (system and network came with
    // enrollment but hold other values).
    let first = agent
        .ok(
            &app,
            "POST",
            wire::INVENTORY_PATH,
            json!({"hashes": hashes}),
        )
        .await;
    assert_eq!(
        first["resend"].as_array().unwrap().len(),
        CATEGORIES.len(),
        "{first}"
    );
    let full = agent
        .ok(
            &app,
            "POST",
            wire::INVENTORY_PATH,
            json!({"hashes": hashes, "categories": all}),
        )
        .await;
    assert_eq!(full["stored"].as_array().unwrap().len(), CATEGORIES.len());
    assert_eq!(full["resend"], json!([]));
    let steady = agent
        .ok(
            &app,
            "POST",
            wire::INVENTORY_PATH,
            json!({"hashes": hashes}),
        )
        .await;
    assert_eq!(
        (steady["stored"].clone(), steady["resend"].clone()),
        (json!([]), json!([]))
    );

    let software = app
        .ok(
            "GET",
            &format!("/api/v1/hosts/{host}/software"),
            &app.root,
            None,
        )
        .await;
    assert_eq!(software[0]["name"], "openssh-server");
    let h = app
        .ok("GET", &format!("/api/v1/hosts/{host}"), &app.root, None)
        .await;
    assert_eq!(
        h["host"]["hostname"], "db-7-renamed",
        "the host row follows the system category"
    );
    let r = app
        .call(
            "GET",
            &format!("/api/v1/hosts/{host}/bogus"),
            &app.root,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(
            "GET",
            &format!("/api/v1/hosts/{host}/software"),
            &app.b_token,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another tenant");

    let cases = [
        (
            json!({"hashes": {"software": "00"}, "categories": {"software": []}}),
            "hashes.software",
        ),
        (
            json!({"hashes": {}, "categories": {"software": [{"name": 5}]}}),
            "categories.software",
        ),
        (
            json!({"hashes": {}, "categories": {"bogus": {}}}),
            "categories.bogus",
        ),
    ];
    for (body, field) in cases {
        let r = agent.call(&app, "POST", wire::INVENTORY_PATH, body).await;
        assert_eq!(
            (r.status, r.field().as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{}",
            r.text
        );
    }
    let software = app
        .ok(
            "GET",
            &format!("/api/v1/hosts/{host}/software"),
            &app.root,
            None,
        )
        .await;
    assert_eq!(
        software[0]["name"], "openssh-server",
        "a refused sync stored nothing"
    );

    // The hash covers the bytes as sent: floats, escapes and spacing that a parse and a
    // re-encoding would change (a live host's CPU shares) are accepted as they are.
    let processes = r#"[ {"pid":7,"name":"caf\u00e9","user":"root","cpu_percent":0.30000000000000004e0,"memory_bytes":1},{"pid":8,"name":"x","user":"","cpu_percent":1.7976931348623157e308,"memory_bytes":2} ]"#;
    let body = format!(
        r#"{{"hashes":{{"processes":"{}"}},"categories":{{"processes":{processes}}}}}"#,
        bulwark_protocol::sha256_hex(processes.as_bytes())
    );
    let r = app
        .dispatch(agent.request("POST", wire::INVENTORY_PATH, &body, bulwark_store::now()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let stored = app
        .ok(
            "GET",
            &format!("/api/v1/hosts/{host}/processes"),
            &app.root,
            None,
        )
        .await;
    assert_eq!(stored[0]["name"], "café");

    // The history by agent id names the host it belongs to.
    let history = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/history/agent/{}", agent.id),
            &app.root,
            None,
        )
        .await;
    assert_eq!(history["host_id"], host, "{history}");

    // A refusal the agent reports in its heartbeat shows on the host until one is accepted.
    let beat =
        |refused: Option<&str>| json!({"agent_version": "1.0", "inventory_refused": refused});
    agent
        .ok(
            &app,
            "POST",
            wire::HEARTBEAT_PATH,
            beat(Some("the hash of processes does not match (3 in a row)")),
        )
        .await;
    let h = app
        .ok("GET", &format!("/api/v1/hosts/{host}"), &app.root, None)
        .await;
    assert_eq!(
        h["host"]["inventory_refused"],
        "the hash of processes does not match (3 in a row)"
    );
    agent
        .ok(&app, "POST", wire::HEARTBEAT_PATH, beat(None))
        .await;
    let h = app
        .ok("GET", &format!("/api/v1/hosts/{host}"), &app.root, None)
        .await;
    assert!(h["host"]["inventory_refused"].is_null(), "{h}");

    let big = json!({"hashes": {}, "categories": {"processes": vec![json!({"pid": 1, "name": "x".repeat(100), "user": "root", "cpu_percent": 0.0, "memory_bytes": 1}); 1000]}});
    let r = agent.call(&app, "POST", wire::INVENTORY_PATH, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
}

fn open(job: &Value, server_key: &str, agent: &Agent) -> bulwark_protocol::Job {
    let signed: SignedJob = serde_json::from_value(job.clone()).unwrap();
    match signed
        .open(server_key, &agent.id, bulwark_store::now())
        .unwrap()
    {
        Opened::Job(job) => *job,
        Opened::Unreadable(why) => panic!("{why}"),
    }
}

#[tokio::test]
async fn a_scan_goes_to_the_agent_as_a_signed_job_and_comes_back_once() {
    let app = app().await;
    let agent = Agent::new("agent-scan");
    let enrolled = agent.enroll(&app).await;
    let host = enrolled["host_id"].as_str().unwrap().to_owned();
    let server_key = enrolled["server_public_key"].as_str().unwrap().to_owned();
    let policy = linux_policy(&app).await;

    // A long poll waits, and wakes when a scan is triggered.
    let poll = {
        let (app_router, req) = (
            app.router.clone(),
            agent.request(
                "GET",
                "/api/v1/agent/jobs?wait=20",
                "",
                bulwark_store::now(),
            ),
        );
        tokio::spawn(async move { tower::ServiceExt::oneshot(app_router, req).await.unwrap() })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !app.state.presence.is_waiting(&host) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the long poll never started waiting"
        );
        tokio::task::yield_now().await;
    }
    let scan_id = trigger(&app, &policy, &host).await;
    let res = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .expect("the poll woke")
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let jobs: Value = serde_json::from_slice(&body).unwrap();
    let job = open(&jobs["jobs"][0], &server_key, &agent);
    let JobKind::ComplianceScan {
        scan_id: scan_in_job,
        checks,
        ..
    } = &job.kind
    else {
        panic!("a scan job: {job:?}")
    };
    assert_eq!(*scan_in_job, scan_id);
    assert!(
        checks.len() > 200 && checks.iter().all(|c| c.enabled),
        "the template's enabled checks"
    );
    assert!(
        checks.iter().all(|c| c.description.is_empty()
            && c.rationale.is_empty()
            && c.remediation.text.is_empty()
            && c.tests.is_empty()),
        "a job carries what evaluation needs; the prose and inline tests stay on the server"
    );
    assert!(
        body.len() < 200_000,
        "{} checks in {} bytes",
        checks.len(),
        body.len()
    );

    // Leased: a second poll gets nothing.
    let again = agent
        .ok(&app, "GET", "/api/v1/agent/jobs", json!(null))
        .await;
    assert_eq!(again["jobs"], json!([]));
    agent
        .ok(&app, "POST", &wire::job_ack_path(&job.id), json!({}))
        .await;
    let running = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{scan_id}"),
            &app.root,
            None,
        )
        .await;
    assert_eq!(running["status"], "running");

    let results: Vec<AgentResult> = checks
        .iter()
        .map(|c| AgentResult {
            check_id: c.id.clone(),
            outcome: CheckOutcome::judged(true, Some("ok".into()), "ok"),
        })
        .collect();
    let body = json!({"results": results});
    let other = Agent::new("agent-other");
    other.enroll(&app).await;
    let r = other
        .call(&app, "POST", &wire::results_path(&scan_id), body.clone())
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another host's scan");
    let done = agent
        .ok(&app, "POST", &wire::results_path(&scan_id), body.clone())
        .await;
    assert_eq!(done["outcome"], "completed");
    let retry = agent
        .ok(&app, "POST", &wire::results_path(&scan_id), body)
        .await;
    assert_eq!(retry["outcome"], "already_finished");
    let completed = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{scan_id}"),
            &app.root,
            None,
        )
        .await;
    assert_eq!(completed["status"], "completed");
    assert!(completed["score"].as_f64().unwrap() > 90.0, "{completed}");
    let jobs = app
        .ok(
            "GET",
            &format!("/api/v1/hosts/{host}/jobs"),
            &app.root,
            None,
        )
        .await;
    assert_eq!(jobs[0]["status"], "succeeded");
    let by_agent = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/score/agent/{}", agent.id),
            &app.root,
            None,
        )
        .await;
    assert_eq!(by_agent["scan_id"], completed["id"], "{by_agent}");
}

#[tokio::test]
async fn a_job_the_agent_cannot_run_fails_its_scan_with_the_reason() {
    let app = app().await;
    let agent = Agent::new("agent-fail");
    let host = agent.enroll(&app).await["host_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let policy = linux_policy(&app).await;
    let scan = trigger(&app, &policy, &host).await;
    let jobs = agent
        .ok(&app, "GET", "/api/v1/agent/jobs", json!(null))
        .await;
    let id = jobs["jobs"][0]["id"].as_str().unwrap();
    agent
        .ok(
            &app,
            "POST",
            &wire::job_fail_path(id),
            json!({"reason": "the agent cannot read this job: unknown variant"}),
        )
        .await;
    let failed = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{scan}"),
            &app.root,
            None,
        )
        .await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("unknown variant")
    );
}

/// Checks that run commands are code run as root on every agent of an organization: only an
/// admin writes them, only while the organization's script_execution flag is on, and jobs
/// carry them only while it is on.
#[tokio::test]
async fn command_checks_are_held_to_the_script_execution_rules() {
    let app = app().await;
    let admin = app.token("admin").to_owned();
    let user = app.token("user").to_owned();
    let copy = app
        .ok(
            "POST",
            "/api/v1/compliance/templates/cis-linux-l1/copy",
            &admin,
            Some(json!({"name": "With a command"})),
        )
        .await;
    let tid = copy["id"].as_str().unwrap().to_owned();
    let checks_path = format!("/api/v1/compliance/templates/{tid}/checks");
    let command =
        json!({"kind": "command", "argv": ["/bin/true"], "timeout_secs": 5, "output": "exit_code"});
    let check = |id: &str, probe: Value| {
        json!({
            "id": id, "title": id, "category": "Services", "severity": "low", "description": "d",
            "rationale": "r", "remediation": {"text": "none"}, "probe": probe,
            "expect": {"op": "equals", "value": "0"},
        })
    };
    let hidden = {
        let mut c = check(
            "HIDDEN-1",
            json!({"kind": "sysctl", "key": "kernel.randomize_va_space"}),
        );
        c["overrides"] = json!([{"distro": "debian", "probe": command, "expect": {"op": "equals", "value": "0"}}]);
        c
    };
    // A user may not write a command, directly or hidden in a distro override.
    for body in [check("CMD-1", command.clone()), hidden] {
        let r = app
            .call("POST", &checks_path, &user, Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{body}: {}", r.text);
        assert!(r.text.contains("runs a command"), "{}", r.text);
    }
    app.ok(
        "POST",
        &checks_path,
        &admin,
        Some(check("CMD-1", command.clone())),
    )
    .await;
    let detail = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/templates/{tid}"),
            &user,
            None,
        )
        .await;
    let flagged: Vec<&str> = detail["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["runs_commands"] == true)
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(flagged, ["CMD-1"], "the API says which checks run commands");
    // A user may not turn a check into a command, nor copy commands elsewhere.
    let r = app
        .call(
            "PATCH",
            &format!(
                "{checks_path}/{}",
                detail["checks"][0]["id"].as_str().unwrap()
            ),
            &user,
            Some(json!({"probe": command})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = app
        .call(
            "POST",
            &format!("/api/v1/compliance/templates/{tid}/copy"),
            &user,
            Some(json!({"name": "Copied commands"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // With the organization's flag off: admins cannot add commands, jobs do not carry them.
    app.ok(
        "PUT",
        "/api/v1/feature-flags",
        &app.root,
        Some(json!({"org_id": app.a.id, "feature": "script_execution", "enabled": false})),
    )
    .await;
    let r = app
        .call(
            "POST",
            &checks_path,
            &admin,
            Some(check("CMD-2", command.clone())),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("script_execution"), "{}", r.text);
    let policy = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            &user,
            Some(json!({"name": "Cmd", "os_type": "linux", "template_id": tid})),
        )
        .await;
    let agent = Agent::new("agent-cmd");
    let enrolled = agent.enroll(&app).await;
    let host = enrolled["host_id"].as_str().unwrap().to_owned();
    let server_key = enrolled["server_public_key"].as_str().unwrap().to_owned();
    let scan_id = trigger(&app, policy["id"].as_str().unwrap(), &host).await;
    let jobs = agent
        .ok(&app, "GET", "/api/v1/agent/jobs", json!(null))
        .await;
    let job = open(&jobs["jobs"][0], &server_key, &agent);
    let JobKind::ComplianceScan { checks, .. } = &job.kind else {
        panic!("a scan job: {job:?}")
    };
    assert!(!checks.is_empty());
    assert!(
        checks.iter().all(|c| !c.runs_commands()),
        "a job never carries a command the organization switched off"
    );
    let sent: Vec<AgentResult> = checks
        .iter()
        .map(|c| AgentResult {
            check_id: c.id.clone(),
            outcome: CheckOutcome::judged(true, Some("ok".into()), "ok"),
        })
        .collect();
    bulwark_server::ingest::submit(&app.state, &scan_id, sent)
        .await
        .unwrap();
    let results = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{scan_id}/results?status=error"),
            &user,
            None,
        )
        .await;
    let held: Vec<(&str, &str)> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["check_id"].as_str().unwrap(),
                r["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(held, [("CMD-1", bulwark_server::commands::HELD_BACK)]);
}

/// A request over a real TCP connection, in the bytes a client would send.
fn http_request(method: &str, path: &str, headers: &[(String, String)], body: &str) -> Vec<u8> {
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: bulwark\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}

/// Sends `request` on a new connection and reads the answer until the server closes it:
/// its status and its text.
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    (status, text)
}

/// The app on a loopback port with the given connection limits, until the sender is dropped.
async fn listening(
    app: &TestApp,
    limits: bulwark_server::listen::ConnectionLimits,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bulwark_server::listen::serve(
        listener,
        bulwark_server::app(app.state.clone()),
        limits,
        async {
            let _ = stopped.await;
        },
    ));
    (addr, stop)
}

/// Thousands of clients that send half a request and wait do not take the server offline: a
/// user still logs in and an agent's heartbeats stay fast while they hold their connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_leave_room_for_users_and_agents() {
    use tokio::io::AsyncWriteExt;
    let app = app().await;
    let agent = Agent::new("agent-under-siege");
    agent.enroll(&app).await;
    let password = "a password long enough";
    app.state
        .store
        .create_user(
            "ada",
            &bulwark_server::auth::hash_password(password).unwrap(),
            bulwark_core::Role::User,
            Some(std::slice::from_ref(&app.a.id)),
        )
        .await
        .unwrap();
    let limits = bulwark_server::listen::ConnectionLimits {
        max_connections: 4000,
        header_timeout: Duration::from_secs(60),
        shutdown_grace: Duration::from_secs(1),
    };
    let (addr, _stop) = listening(&app, limits).await;

    const HELD: usize = 3000;
    let mut held = Vec::with_capacity(HELD);
    for _ in 0..HELD {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /login HTTP/1.1\r\nHost: bulwark\r\nContent-Le")
            .await
            .unwrap();
        held.push(stream);
    }

    let login = json!({"username": "ada", "password": password}).to_string();
    let (status, text) = exchange(
        addr,
        &http_request("POST", "/api/v1/auth/login", &[], &login),
    )
    .await;
    assert_eq!(status, 200, "{text}");

    let beat = json!({"agent_version": "0.1.0"}).to_string();
    let mut latencies = Vec::new();
    for _ in 0..20 {
        let parts = RequestParts {
            method: "POST",
            path: wire::HEARTBEAT_PATH,
            query: "",
            body: beat.as_bytes(),
        };
        let signed = agent
            .key
            .sign_request(&agent.id, &parts, bulwark_store::now());
        let headers: Vec<(String, String)> = signed
            .pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let started = std::time::Instant::now();
        let (status, text) = exchange(
            addr,
            &http_request("POST", wire::HEARTBEAT_PATH, &headers, &beat),
        )
        .await;
        latencies.push(started.elapsed());
        assert_eq!(status, 200, "{text}");
    }
    latencies.sort();
    let slowest = latencies[latencies.len() - 1];
    println!(
        "with {HELD} half-sent requests held: heartbeat median {:?}, slowest of 20 {slowest:?}",
        latencies[latencies.len() / 2]
    );
    assert!(
        slowest < Duration::from_secs(2),
        "heartbeats stay fast: {latencies:?}"
    );
    drop(held);
}

/// Over the connection cap a client is refused at once and in words; a request whose headers
/// do not arrive in time loses its connection, which frees the place.
#[tokio::test]
async fn the_connection_cap_refuses_clearly_and_the_header_deadline_frees_places() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = app().await;
    let limits = bulwark_server::listen::ConnectionLimits {
        max_connections: 20,
        header_timeout: Duration::from_secs(1),
        shutdown_grace: Duration::from_secs(1),
    };
    let (addr, _stop) = listening(&app, limits).await;
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET /api/v1/hea").await.unwrap();
        held.push(stream);
    }
    // Give the server the moment it needs to take the twenty.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, text) = exchange(addr, &http_request("GET", "/login", &[], "")).await;
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("too many open connections"), "{text}");
    assert!(text.contains("Retry-After: 1"), "{text}");

    // The header deadline closes each half-sent request.
    for stream in &mut held {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
            .await
            .expect("the server closes a request whose headers never came");
        assert!(read.is_err() || rest.is_empty() || rest.starts_with(b"HTTP/1.1 408"));
    }
    let (status, text) = exchange(addr, &http_request("GET", "/login", &[], "")).await;
    assert_ne!(status, 503, "the places are free again: {text}");
}

/// A body declared larger than anything the server accepts is refused before it is read,
/// on the API and on the UI's login form alike; a form body over the limit is refused too.
#[tokio::test]
async fn bodies_are_bounded_before_authentication() {
    let app = app().await;
    let (addr, _stop) = listening(&app, Default::default()).await;
    for path in ["/login", "/api/v1/auth/login"] {
        // One GiB declared; none of it is sent.
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: bulwark\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1073741824\r\n\r\n"
        );
        let (status, text) = exchange(addr, request.as_bytes()).await;
        assert_eq!(status, 413, "{path}: {text}");
        assert!(text.contains("too_large"), "{path}: {text}");
    }
    // A chunked form body (no length declared) over the route's limit.
    let big = "username=".to_owned() + &"a".repeat(3 * 1024 * 1024);
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: bulwark\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    );
    let (status, text) = exchange(addr, request.as_bytes()).await;
    assert_eq!(status, 413, "{text}");
}

/// What an agent says about itself and its results is bounded on the server: a version that
/// is not one, an impossible drop count or oversized host facts are refused naming the field;
/// oversized evidence is stored cut, saying so.
#[tokio::test]
async fn agent_supplied_fields_are_bounded() {
    let app = app().await;
    let agent = Agent::new("agent-bounded");
    agent.enroll(&app).await;
    for (body, field) in [
        (json!({"agent_version": "v".repeat(200)}), "agent_version"),
        (json!({"agent_version": "1.0\n<script>"}), "agent_version"),
        (
            json!({"agent_version": "0.1.0", "spool_dropped": u64::MAX}),
            "spool_dropped",
        ),
    ] {
        let r = agent
            .call(&app, "POST", wire::HEARTBEAT_PATH, body.clone())
            .await;
        assert_eq!(
            (r.status, r.field().as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{body}: {}",
            r.text
        );
    }
    let mut long_host = enroll_body(&Agent::new("agent-long"), SECRET);
    long_host["system"]["kernel"] = json!("k".repeat(300));
    let r = app
        .send(
            "POST",
            wire::ENROLL_PATH,
            None,
            Some(&long_host.to_string()),
        )
        .await;
    assert_eq!(
        (r.status, r.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("system.kernel")),
        "{}",
        r.text
    );

    let policy = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            app.token("user"),
            Some(json!({"name": "p", "os_type": "linux", "template_id": "cis-linux-l1"})),
        )
        .await;
    let scan = trigger(&app, policy["id"].as_str().unwrap(), &app.host_a.id).await;
    let mut results = common::agent_results(&app, "cis-linux-l1", 1).await;
    results[0].outcome.actual = Some("x".repeat(1_000_000));
    // A skip without a reason is stored with one.
    results[1].outcome.status = bulwark_core::Status::Skip;
    results[1].outcome.reason = Some("  ".into());
    let skipped_id = results[1].check_id.clone();
    bulwark_server::ingest::submit(&app.state, &scan, results)
        .await
        .unwrap();
    let stored = app
        .state
        .store
        .scan_results(&Scope::All, &scan, Some(bulwark_core::Status::Fail))
        .await
        .unwrap();
    let actual = stored[0].outcome.actual.as_deref().unwrap();
    assert!(actual.len() < 4200, "{} bytes kept", actual.len());
    assert!(
        actual.ends_with("(cut at 4096 characters)"),
        "{}",
        &actual[4000..]
    );
    let all = app
        .state
        .store
        .scan_results(&Scope::All, &scan, None)
        .await
        .unwrap();
    let skipped = all.iter().find(|r| r.check_id == skipped_id).unwrap();
    assert_eq!(
        skipped.outcome.reason.as_deref(),
        Some("the agent reported skip without saying why")
    );
}
