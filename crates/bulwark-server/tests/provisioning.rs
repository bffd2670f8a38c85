//! The provisioning gate end to end over real HTTP: the test plays Terraform (signed run-task
//! and notification deliveries in HashiCorp's payload shape, a workspace-outputs API and a
//! callback receiver on loopback that records every PATCH), and the "new VM" is this machine
//! reached through the agentless path (a real OpenSSH server on loopback, the real scanner).

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, patch, post};
use bulwark_server::provisioning::terraform;
use bulwark_ssh::testing::Sshd;
use common::TestApp;
use common::ssh::Login;
use serde_json::{Value, json};

const RUN_TASK_KEY: &str = "run-task-hmac-key";
const NOTIFICATION_TOKEN: &str = "notification-token";
const ACCESS_TOKEN: &str = "run-access-token.atlasv1.abc";

/// The server on a loopback port with its SSH workers and the provisioning reconciler.
struct Served {
    app: TestApp,
    base: String,
}

async fn served() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestApp::config();
    config.secrets = Some(Arc::new(
        bulwark_server::secrets::SecretBox::load_or_create(&dir.path().join("secret.key")).unwrap(),
    ));
    config.agentless.scanner = Some(common::ssh::scanner());
    config.agentless.poll = Duration::from_millis(200);
    config.provisioning.connect_wait = Duration::from_secs(3);
    config.provisioning.poll = Duration::from_millis(200);
    config.provisioning.public_url = Some("http://bulwark.test".into());
    let store = bulwark_store::testing::sqlite(dir.path()).await.unwrap();
    let app = TestApp::on_config(store, dir, config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    tokio::spawn(bulwark_server::agentless::run(app.state.clone()));
    tokio::spawn(bulwark_server::provisioning::reconcile::run(
        app.state.clone(),
    ));
    Served { app, base }
}

/// What the fake Terraform saw and serves.
#[derive(Default)]
struct Terraform {
    /// The machines the workspace's `bulwark_machines` output lists.
    machines: Value,
    /// Each callback PATCH: (when, Authorization header, body).
    callbacks: Vec<(Instant, String, Value)>,
    /// Authorization headers of output reads.
    output_reads: Vec<String>,
}

type Shared = Arc<Mutex<Terraform>>;

async fn outputs(State(tf): State<Shared>, headers: HeaderMap) -> Json<Value> {
    let mut tf = tf.lock().unwrap();
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    tf.output_reads.push(auth);
    Json(json!({"data": [
        {"id": "wsout-1", "type": "state-version-outputs", "attributes": {"name": "region", "sensitive": false, "type": "string", "value": "eu-west-1"}},
        {"id": "wsout-2", "type": "state-version-outputs", "attributes": {"name": "bulwark_machines", "sensitive": false, "type": "array", "value": tf.machines.clone()}},
    ]}))
}

async fn callback(State(tf): State<Shared>, headers: HeaderMap, body: String) -> Json<Value> {
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: Value = serde_json::from_str(&body).unwrap();
    tf.lock()
        .unwrap()
        .callbacks
        .push((Instant::now(), auth, body));
    Json(json!({}))
}

/// A fake Terraform on loopback; answers its origin.
async fn terraform(machines: Value) -> (Shared, String) {
    let shared: Shared = Arc::new(Mutex::new(Terraform {
        machines,
        ..Default::default()
    }));
    let router = axum::Router::new()
        .route(
            "/api/v2/workspaces/{id}/current-state-version-outputs",
            get(outputs),
        )
        .route("/api/v2/task-results/{id}/callback", patch(callback))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (shared, origin)
}

/// A webhook receiver on loopback; answers what it received and its URL.
async fn webhook_receiver() -> (Arc<Mutex<Vec<Value>>>, String) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let router = axum::Router::new()
        .route(
            "/hook",
            post(
                |State(got): State<Arc<Mutex<Vec<Value>>>>, Json(v): Json<Value>| async move {
                    got.lock().unwrap().push(v);
                    "ok"
                },
            ),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (got, url)
}

/// A post-apply run task delivery exactly as HashiCorp documents its fields.
fn run_task_payload(origin: &str, task_result: &str, run: &str) -> Value {
    json!({
        "payload_version": 1,
        "stage": "post_apply",
        "access_token": ACCESS_TOKEN,
        "capabilities": {"outcomes": true},
        "configuration_version_download_url": format!("{origin}/api/v2/configuration-versions/cv-1/download"),
        "configuration_version_id": "cv-1",
        "is_speculative": false,
        "organization_name": "acme",
        "plan_json_api_url": format!("{origin}/api/v2/plans/plan-1/json-output"),
        "run_app_url": format!("{origin}/app/acme/web/runs/{run}"),
        "run_created_at": "2026-12-07T10:00:00.000Z",
        "run_created_by": "deployer",
        "run_id": run,
        "run_message": "Triggered via CLI",
        "task_result_callback_url": format!("{origin}/api/v2/task-results/{task_result}/callback"),
        "task_result_enforcement_level": "mandatory",
        "task_result_id": task_result,
        "vcs_branch": "main",
        "vcs_commit_url": null,
        "vcs_pull_request_url": null,
        "vcs_repo_url": null,
        "workspace_app_url": format!("{origin}/app/acme/web"),
        "workspace_id": "ws-web123",
        "workspace_name": "web",
        "workspace_working_directory": ""
    })
}

async fn deliver(base: &str, path: &str, header: &str, key: &str, body: &Value) -> (u16, Value) {
    let bytes = body.to_string().into_bytes();
    let signature = terraform::sign(key.as_bytes(), &bytes);
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .header(header, signature)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Stores a key credential for the login; answers its id.
async fn credential(app: &TestApp, sshd: &Sshd) -> String {
    let created = app
        .ok(
            "POST",
            "/api/v1/ssh-credentials",
            app.token("admin"),
            Some(json!({"name": "provisioning key", "kind": "private_key", "private_key": sshd.client_key})),
        )
        .await;
    created["credential"]["id"].as_str().unwrap().to_owned()
}

async fn settings(app: &TestApp, settings: Value, secrets: Value) -> Value {
    let mut body = json!({"settings": settings});
    for (k, v) in secrets.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.ok(
        "PUT",
        "/api/v1/provisioning/settings",
        app.token("admin"),
        Some(body),
    )
    .await
}

/// Polls until `done` holds for the machines list, or fails after a minute and a half.
async fn machines_until(app: &TestApp, query: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let list = app
            .ok(
                "GET",
                &format!("/api/v1/provisioned-vms{query}"),
                app.token("provisioner"),
                None,
            )
            .await;
        let list = list.as_array().unwrap().clone();
        if done(&list) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "machines never settled: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An administrator of organization B.
async fn b_admin(app: &TestApp) -> String {
    common::token_for(
        &app.state.store,
        "b-admin",
        bulwark_core::Role::Admin,
        Some(std::slice::from_ref(&app.b.id)),
    )
    .await
}

fn statuses(tf: &Shared) -> Vec<String> {
    tf.lock()
        .unwrap()
        .callbacks
        .iter()
        .map(|(_, _, b)| {
            b["data"]["attributes"]["status"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_run_task_scans_the_new_machine_blocks_it_and_an_admin_releases_it() {
    let Some(sshd) = Sshd::start() else { return };
    let login = Login::new("p");
    let _sudo = login.sudo("USER ALL=(root) NOPASSWD: ALL\n");
    let Served { app, base } = served().await;
    let credential = credential(&app, &sshd).await;
    let (tf, origin) = terraform(json!([
        {"address": "127.0.0.1", "port": sshd.port, "hostname": "vm-web-1", "provider": "aws", "project": "web"}
    ]))
    .await;
    let exempted = "CIS-1.1.1.1";
    settings(
        &app,
        json!({
            "enabled": true, "enforcement_mode": "block", "profile": "level1_server", "min_score": 100,
            "ssh_user": login.user.name, "ssh_credential_id": credential, "allow_insecure_callbacks": true,
            "exempted_rules": [exempted],
        }),
        json!({"run_task_key": RUN_TASK_KEY}),
    )
    .await;
    let path = format!("/api/v1/provisioning/terraform/{}/run-task", app.a.id);
    let payload = run_task_payload(&origin, "taskrs-1", "run-1");

    // Wrong or missing signatures: 401, nothing recorded.
    let (status, _) = deliver(
        &base,
        &path,
        terraform::RUN_TASK_SIGNATURE,
        "not the key",
        &payload,
    )
    .await;
    assert_eq!(status, 401);
    let unsigned = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .body(payload.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let other_org = format!("/api/v1/provisioning/terraform/{}/run-task", app.b.id);
    let (status, _) = deliver(
        &base,
        &other_org,
        terraform::RUN_TASK_SIGNATURE,
        RUN_TASK_KEY,
        &payload,
    )
    .await;
    assert_eq!(status, 401, "another organization's key does not verify");
    assert!(app.state.store.open_run_tasks(10).await.unwrap().is_empty());

    // The delivery is answered at once; the scan happens afterwards.
    let delivered = Instant::now();
    let (status, answer) = deliver(
        &base,
        &path,
        terraform::RUN_TASK_SIGNATURE,
        RUN_TASK_KEY,
        &payload,
    )
    .await;
    let answered = delivered.elapsed();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "accepted");
    let (status, replay) = deliver(
        &base,
        &path,
        terraform::RUN_TASK_SIGNATURE,
        RUN_TASK_KEY,
        &payload,
    )
    .await;
    assert_eq!(
        (status, replay["outcome"].as_str()),
        (200, Some("replayed"))
    );

    let vms = machines_until(&app, "", |l| l.len() == 1 && l[0]["status"] == "completed").await;
    let vm = &vms[0];
    let deadline = Instant::now() + Duration::from_secs(30);
    while statuses(&tf).last().is_none_or(|s| s == "running") {
        assert!(
            Instant::now() < deadline,
            "no final callback: {:?}",
            statuses(&tf)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let finished = tf.lock().unwrap().callbacks.last().unwrap().0;
    println!(
        "run task: answered in {} ms; delivery to final callback {} ms; callbacks {:?}",
        answered.as_millis(),
        finished.duration_since(delivered).as_millis(),
        statuses(&tf)
    );
    assert_eq!(
        statuses(&tf).first().map(String::as_str),
        Some("running"),
        "running is sent while scanning"
    );
    assert_eq!(statuses(&tf).last().map(String::as_str), Some("failed"));
    {
        let tf = tf.lock().unwrap();
        let (_, auth, body) = tf.callbacks.last().unwrap();
        assert_eq!(auth, &format!("Bearer {ACCESS_TOKEN}"));
        assert_eq!(body["data"]["type"], "task-results");
        let message = body["data"]["attributes"]["message"].as_str().unwrap();
        assert!(
            message.contains("handover blocked for vm-web-1")
                && message.contains("below minimum 100"),
            "{message}"
        );
        assert!(
            body["data"]["attributes"]["url"]
                .as_str()
                .unwrap()
                .starts_with("http://bulwark.test/")
        );
        assert_eq!(
            tf.output_reads,
            vec![format!("Bearer {ACCESS_TOKEN}")],
            "outputs read once, with the run's token"
        );
    }

    assert_eq!(vm["source"], "terraform_run_task");
    assert_eq!(vm["provider"], "aws");
    assert_eq!(vm["project"], "web");
    assert_eq!(vm["workspace"], "web");
    assert_eq!(vm["tf_organization"], "acme");
    assert_eq!(vm["handover_blocked"], true);
    let reason = vm["block_reason"].as_str().unwrap();
    assert!(reason.contains("below minimum 100"), "{reason}");
    let id = vm["id"].as_str().unwrap();
    let handover = app
        .ok(
            "GET",
            &format!("/api/v1/provisioned-vms/{id}/handover"),
            app.token("provisioner"),
            None,
        )
        .await;
    assert_eq!(
        (handover["allowed"].as_bool(), handover["blocked"].as_bool()),
        (Some(false), Some(true))
    );

    // One scan, however often the delivery came; the exempted rule was not run.
    let host = vm["host_id"].as_str().unwrap();
    let scans = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans?host_id={host}"),
            app.token("admin"),
            None,
        )
        .await;
    assert_eq!(scans.as_array().unwrap().len(), 1, "{scans}");
    let scan = vm["scan_id"].as_str().unwrap();
    let results = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{scan}/results"),
            app.token("admin"),
            None,
        )
        .await;
    let skipped = results
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check_id"] == exempted)
        .unwrap();
    assert_eq!(skipped["status"], "skip");
    assert!(
        skipped["reason"].as_str().unwrap().contains("exempted"),
        "{skipped}"
    );
    let failures: i64 = [
        "critical_failures",
        "high_failures",
        "medium_failures",
        "low_failures",
    ]
    .iter()
    .map(|k| vm[k].as_i64().unwrap())
    .sum();
    assert_eq!(
        failures,
        vm["failed"].as_i64().unwrap(),
        "every failure has a severity: {vm}"
    );

    // Roles: provisioners view and download; only admins release; viewers see nothing.
    let report = app
        .call(
            "GET",
            &format!("/api/v1/provisioned-vms/{id}/report"),
            app.token("provisioner"),
            None,
        )
        .await;
    assert_eq!(report.status, 200);
    assert!(report.text.contains("vm-web-1"));
    for (format, marker) in [("json", "\"summary\""), ("arf", "asset-report-collection")] {
        let r = app
            .call(
                "GET",
                &format!("/api/v1/provisioned-vms/{id}/report?format={format}"),
                app.token("provisioner"),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{format}");
        assert!(r.text.contains(marker), "{format} report lacks {marker}");
    }
    for role in ["viewer", "user"] {
        let r = app
            .call(
                "GET",
                "/api/v1/provisioning/overview",
                app.token(role),
                None,
            )
            .await;
        assert_eq!(r.status, 403, "{role}");
    }
    let release = format!("/api/v1/provisioned-vms/{id}/release");
    let r = app
        .call(
            "POST",
            &release,
            app.token("provisioner"),
            Some(json!({"reason": "mine"})),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .call(
            "POST",
            &release,
            app.token("admin"),
            Some(json!({"reason": " "})),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.field().as_deref()),
        (422, Some("reason"))
    );
    let b_admin = b_admin(&app).await;
    let r = app
        .call("POST", &release, &b_admin, Some(json!({"reason": "x"})))
        .await;
    assert_eq!(r.status, 404, "another organization's machine");
    let released = app
        .ok(
            "POST",
            &release,
            app.token("admin"),
            Some(json!({"reason": "hardening ticket OPS-7 follows"})),
        )
        .await;
    assert_eq!(released["released_by"], "a-admin");
    let handover = app
        .ok(
            "GET",
            &format!("/api/v1/provisioned-vms/{id}/handover"),
            app.token("provisioner"),
            None,
        )
        .await;
    assert_eq!(handover["allowed"], true);
    let again = app
        .call(
            "POST",
            &release,
            app.token("admin"),
            Some(json!({"reason": "twice"})),
        )
        .await;
    assert_eq!(again.status, 409);
    let audit = app
        .ok(
            "GET",
            "/api/v1/audit?action=release",
            app.token("admin"),
            None,
        )
        .await;
    let entry = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["outcome"] == "success")
        .unwrap();
    assert_eq!(entry["actor"], "token:a-admin");
    assert!(
        entry["detail"].as_str().unwrap().contains("OPS-7"),
        "{entry}"
    );
    let denied = audit
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["outcome"] == "denied" && e["actor"] == "token:a-provisioner");
    assert!(denied, "the refused release is audited: {audit}");
    let deliveries = app
        .ok(
            "GET",
            "/api/v1/audit?action=run-task",
            app.token("admin"),
            None,
        )
        .await;
    let outcomes: Vec<(&str, &str)> = deliveries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert!(
        outcomes.contains(&("terraform", "denied")) && outcomes.contains(&("terraform", "success")),
        "{outcomes:?}"
    );

    let overview = app
        .ok(
            "GET",
            "/api/v1/provisioning/overview",
            app.token("provisioner"),
            None,
        )
        .await;
    assert_eq!(overview["overview"]["total_scans"], 1);
    assert_eq!(overview["overview"]["blocked"], 0, "released");
    assert_eq!(overview["overview"]["pass_rate"], 0.0);
    assert_eq!(overview["recent"][0]["id"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_notifies_audit_records_and_neither_blocks() {
    let Some(sshd) = Sshd::start() else { return };
    let login = Login::new("w");
    let _sudo = login.sudo("USER ALL=(root) NOPASSWD: ALL\n");
    let Served { app, base } = served().await;
    let credential = credential(&app, &sshd).await;
    let (hooks, hook_url) = webhook_receiver().await;
    app.ok(
        "POST",
        &format!("/api/v1/orgs/{}/webhooks", app.a.id),
        app.token("admin"),
        Some(json!({"url": hook_url})),
    )
    .await;
    let machine = json!({"address": "127.0.0.1", "port": sshd.port, "hostname": "vm-warn", "host_key": sshd.host_fingerprint});
    let common = json!({
        "enabled": true, "min_score": 100, "ssh_user": login.user.name, "ssh_credential_id": credential,
        "allow_insecure_callbacks": true,
    });
    let mut warn = common.clone();
    warn["enforcement_mode"] = "warn".into();
    settings(
        &app,
        warn,
        json!({"notification_token": NOTIFICATION_TOKEN, "terraform_token": "org-api-token"}),
    )
    .await;

    // Warn, through a Terraform notification of a completed apply.
    let (tf, origin) = terraform(json!([machine])).await;
    let notification = json!({
        "payload_version": 1,
        "notification_configuration_id": "nc-1",
        "run_url": format!("{origin}/app/acme/workspaces/web/runs/run-n1"),
        "run_id": "run-n1",
        "run_message": "apply",
        "run_created_at": "2026-12-07T10:00:00.000Z",
        "run_created_by": "deployer",
        "workspace_id": "ws-web123",
        "workspace_name": "web",
        "organization_name": "acme",
        "notifications": [{"message": "Run Applied", "trigger": "run:completed", "run_status": "applied",
            "run_updated_at": "2026-12-07T10:05:00.000Z", "run_updated_by": "deployer"}]
    });
    let path = format!("/api/v1/provisioning/terraform/{}/notification", app.a.id);
    let (status, answer) = deliver(
        &base,
        &path,
        terraform::NOTIFICATION_SIGNATURE,
        NOTIFICATION_TOKEN,
        &notification,
    )
    .await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("accepted")),
        "{answer}"
    );
    let vms = machines_until(&app, "", |l| l.len() == 1 && l[0]["status"] == "completed").await;
    assert_eq!(vms[0]["source"], "terraform_notification");
    assert_eq!(vms[0]["handover_blocked"], false);
    assert_eq!(vms[0]["enforcement_mode"], "warn");
    assert!(
        vms[0]["block_reason"]
            .as_str()
            .unwrap()
            .contains("below minimum 100")
    );
    assert_eq!(
        tf.lock().unwrap().output_reads,
        vec!["Bearer org-api-token".to_owned()]
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !hooks
        .lock()
        .unwrap()
        .iter()
        .any(|h| h["event"] == "provisioning.warning")
    {
        assert!(
            Instant::now() < deadline,
            "no warning webhook: {:?}",
            hooks.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, replay) = deliver(
        &base,
        &path,
        terraform::NOTIFICATION_SIGNATURE,
        NOTIFICATION_TOKEN,
        &notification,
    )
    .await;
    assert_eq!(
        (status, replay["outcome"].as_str()),
        (200, Some("replayed"))
    );

    // Audit, through the generic API with a provisioner's token.
    let mut audit = common.clone();
    audit["enforcement_mode"] = "audit".into();
    settings(&app, audit, json!({})).await;
    let warnings = || {
        hooks
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h["event"] == "provisioning.warning")
            .count()
    };
    let warnings_before = warnings();
    // Another address of the same machine: the schedule below rescans each address once.
    let mut lab = machine.clone();
    lab["address"] = "localhost".into();
    let body =
        json!({"run_id": "ansible-42", "provider": "proxmox", "project": "lab", "machines": [lab]});
    let recorded = app
        .ok(
            "POST",
            "/api/v1/provisioned-vms",
            app.token("provisioner"),
            Some(body.clone()),
        )
        .await;
    let id = recorded[0]["id"].as_str().unwrap().to_owned();
    let again = app
        .ok(
            "POST",
            "/api/v1/provisioned-vms",
            app.token("provisioner"),
            Some(body),
        )
        .await;
    assert_eq!(
        again[0]["id"],
        id.as_str(),
        "idempotent per run and address"
    );
    let vms = machines_until(&app, "?status=completed", |l| l.len() == 2).await;
    let audited = vms.iter().find(|v| v["id"] == id.as_str()).unwrap();
    assert_eq!(
        (
            audited["enforcement_mode"].as_str(),
            audited["handover_blocked"].as_bool()
        ),
        (Some("audit"), Some(false))
    );
    assert_eq!(audited["provider"], "proxmox");
    let handover = app
        .ok(
            "GET",
            &format!("/api/v1/provisioned-vms/{id}/handover"),
            app.token("provisioner"),
            None,
        )
        .await;
    assert_eq!(handover["allowed"], true);
    // A warning is stored before it is sent; audit mode stores none for its machine.
    let notes = app
        .ok("GET", "/api/v1/notifications", app.token("admin"), None)
        .await;
    assert!(
        !notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["message"].as_str().unwrap().contains("(localhost)")),
        "audit mode warns of nothing: {notes}"
    );
    assert_eq!(
        warnings(),
        warnings_before,
        "audit mode sends no provisioning warning"
    );

    // Scan on schedule: when the cron fires, every provisioned host is scanned again.
    let mut scheduled = common.clone();
    scheduled["enforcement_mode"] = "audit".into();
    scheduled["scan_schedule"] = "0 * * * *".into();
    settings(&app, scheduled, json!({})).await;
    let now = bulwark_store::now();
    bulwark_server::provisioning::reconcile::schedule(&app.state, now)
        .await
        .unwrap();
    let unchanged = app
        .ok(
            "GET",
            "/api/v1/provisioned-vms",
            app.token("provisioner"),
            None,
        )
        .await;
    assert_eq!(
        unchanged.as_array().unwrap().len(),
        2,
        "nothing fires before the next hour"
    );
    bulwark_server::provisioning::reconcile::schedule(&app.state, now + 3600)
        .await
        .unwrap();
    bulwark_server::provisioning::reconcile::schedule(&app.state, now + 3660)
        .await
        .unwrap();
    let all = machines_until(&app, "?status=completed", |l| l.len() == 4).await;
    let rescans: Vec<&Value> = all
        .iter()
        .filter(|v| v["run_id"].as_str().unwrap().starts_with("schedule-"))
        .collect();
    assert_eq!(
        rescans.len(),
        2,
        "one rescan per provisioned machine (address), once per firing: {all:#?}"
    );
    for rescan in rescans {
        assert!(
            vms.iter()
                .chain([audited])
                .any(|v| v["host_id"] == rescan["host_id"]),
            "the same hosts are rescanned"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deliveries_and_unreachable_machines_are_refused_or_failed_with_the_reason() {
    let Served { app, base } = served().await;
    let (_, origin) = terraform(json!([])).await;
    let unused_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let created = app
        .ok(
            "POST",
            "/api/v1/ssh-credentials",
            app.token("admin"),
            Some(json!({"name": "k", "kind": "private_key", "generate": true})),
        )
        .await;
    let credential = created["credential"]["id"].as_str().unwrap().to_owned();
    let bad = app
        .call(
            "PUT",
            "/api/v1/provisioning/settings",
            app.token("admin"),
            Some(json!({"settings": {"enabled": true, "min_score": 120, "scan_schedule": "every day"}})),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let fields: Vec<String> = bad.json()["error"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_else(|| vec![bad.field().unwrap()]);
    assert!(
        fields.contains(&"settings.min_score".to_owned()),
        "{fields:?}"
    );
    let r = app
        .call(
            "PUT",
            "/api/v1/provisioning/settings",
            app.token("provisioner"),
            Some(json!({"settings": {}})),
        )
        .await;
    assert_eq!(r.status, 403, "only admins change settings");
    settings(
        &app,
        json!({"enabled": true, "enforcement_mode": "block", "ssh_user": "nobody", "ssh_credential_id": credential,
            "exempted_projects": ["sandbox"]}),
        json!({"run_task_key": RUN_TASK_KEY}),
    )
    .await;
    let answer = app
        .ok(
            "GET",
            "/api/v1/provisioning/settings",
            app.token("admin"),
            None,
        )
        .await;
    assert_eq!(answer["has_run_task_key"], true);
    assert!(
        !answer.to_string().contains(RUN_TASK_KEY),
        "secrets are never answered"
    );

    // An http callback is refused unless an administrator allows it; nothing is recorded.
    let path = format!("/api/v1/provisioning/terraform/{}/run-task", app.a.id);
    let (status, answer) = deliver(
        &base,
        &path,
        terraform::RUN_TASK_SIGNATURE,
        RUN_TASK_KEY,
        &run_task_payload(&origin, "taskrs-h", "run-h"),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["error"]["field"], "task_result_callback_url",
        "{answer}"
    );
    // A malformed payload names its field.
    let mut malformed = run_task_payload(&origin, "taskrs-m", "run-m");
    malformed.as_object_mut().unwrap().remove("task_result_id");
    let (status, answer) = deliver(
        &base,
        &path,
        terraform::RUN_TASK_SIGNATURE,
        RUN_TASK_KEY,
        &malformed,
    )
    .await;
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (422, Some("task_result_id")),
        "{answer}"
    );
    // A test delivery (another stage) is acknowledged and ignored.
    let mut test = run_task_payload(&origin, "taskrs-t", "run-t");
    test["stage"] = "test".into();
    let (status, answer) = deliver(
        &base,
        &path,
        terraform::RUN_TASK_SIGNATURE,
        RUN_TASK_KEY,
        &test,
    )
    .await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("ignored")));
    assert!(app.state.store.open_run_tasks(10).await.unwrap().is_empty());
    let r = app
        .call(
            "POST",
            "/api/v1/provisioned-vms",
            app.token("provisioner"),
            Some(json!({"run_id": "r", "machines": [{"address": "-oProxyCommand=x"}]})),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.field().as_deref()),
        (422, Some("machines[0].address"))
    );

    // A machine that never answers SSH fails with the reason and, in block mode, stays blocked.
    let body = json!({"run_id": "r-1", "machines": [
        {"address": "127.0.0.1", "port": unused_port, "hostname": "vm-dead"},
        {"address": "10.9.9.9", "hostname": "vm-sandbox", "project": "sandbox"},
    ]});
    let recorded = app
        .ok(
            "POST",
            "/api/v1/provisioned-vms",
            app.token("admin"),
            Some(body),
        )
        .await;
    let sandbox = recorded
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["hostname"] == "vm-sandbox")
        .unwrap();
    assert_eq!(
        (sandbox["status"].as_str(), sandbox["exempted"].as_bool()),
        (Some("cancelled"), Some(true))
    );
    assert_eq!(
        sandbox["host_id"],
        Value::Null,
        "exempt machines are never contacted"
    );
    let vms = machines_until(&app, "?status=failed", |l| l.len() == 1).await;
    let dead = &vms[0];
    let failure = dead["failure"].as_str().unwrap();
    assert!(
        failure.contains("connect") || failure.contains("refused"),
        "{failure}"
    );
    assert_eq!(dead["handover_blocked"], true);
    assert!(
        dead["block_reason"]
            .as_str()
            .unwrap()
            .contains("could not be scanned"),
        "{dead}"
    );
    let blocked = app
        .ok(
            "GET",
            "/api/v1/provisioned-vms?blocked=true",
            app.token("provisioner"),
            None,
        )
        .await;
    assert_eq!(blocked.as_array().unwrap().len(), 1);
    let b_admin = b_admin(&app).await;
    let other = app
        .call(
            "GET",
            &format!("/api/v1/provisioned-vms/{}", dead["id"].as_str().unwrap()),
            &b_admin,
            None,
        )
        .await;
    assert_eq!(other.status, 404);
}

/// Each blocking rule, judged on a completed scan whose results are chosen: a machine whose
/// agent enrolled is scanned by it, and the test answers for the agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_blocking_rule_judges_a_completed_scan() {
    let Served { app, .. } = served().await;
    let template = app
        .ok(
            "GET",
            "/api/v1/compliance/templates/cis-linux-l1",
            app.token("viewer"),
            None,
        )
        .await;
    let enabled: Vec<(String, String)> = template["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["enabled"] == true)
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let high = enabled.iter().find(|(_, s)| s == "high").unwrap().0.clone();
    let medium = enabled
        .iter()
        .find(|(_, s)| s == "medium")
        .unwrap()
        .0
        .clone();
    struct Case<'a> {
        block_on_critical: bool,
        block_on_high: bool,
        min_score: f64,
        failed: Vec<&'a str>,
        blocked: bool,
        reason: &'a str,
    }
    let cases = [
        Case {
            block_on_critical: true,
            block_on_high: true,
            min_score: 0.0,
            failed: vec![&high],
            blocked: true,
            reason: "1 high-severity CIS check(s) failed",
        },
        Case {
            block_on_critical: true,
            block_on_high: false,
            min_score: 0.0,
            failed: vec![&high, &medium],
            blocked: false,
            reason: "",
        },
        Case {
            block_on_critical: false,
            block_on_high: false,
            min_score: 99.9,
            failed: vec![&medium],
            blocked: true,
            reason: "below minimum 99.9",
        },
        Case {
            block_on_critical: true,
            block_on_high: true,
            min_score: 50.0,
            failed: vec![],
            blocked: false,
            reason: "",
        },
    ];
    for (i, case) in cases.into_iter().enumerate() {
        let Case {
            block_on_critical: critical,
            block_on_high: high_rule,
            min_score: min,
            failed,
            blocked,
            reason,
        } = case;
        let host = common::new_host(&app.state.store, &app.a, &format!("rule-{i}")).await;
        settings(
            &app,
            json!({"enabled": true, "enforcement_mode": "block", "min_score": min,
                "block_on_critical": critical, "block_on_high": high_rule}),
            json!({}),
        )
        .await;
        let recorded = app
            .ok(
                "POST",
                "/api/v1/provisioned-vms",
                app.token("provisioner"),
                Some(json!({"run_id": format!("rules-{i}"), "machines": [{"address": "10.1.1.1", "hostname": host.hostname}]})),
            )
            .await;
        let id = recorded[0]["id"].as_str().unwrap().to_owned();
        let started = machines_until(&app, "?status=running", |l| {
            l.iter()
                .any(|v| v["id"] == id.as_str() && v["scan_id"].is_string())
        })
        .await;
        let vm = started.iter().find(|v| v["id"] == id.as_str()).unwrap();
        assert_eq!(
            vm["host_id"],
            host.id.as_str(),
            "case {i}: scanned by the host's agent"
        );
        let results = enabled
            .iter()
            .map(|(check, _)| bulwark_server::ingest::AgentResult {
                check_id: check.clone(),
                outcome: bulwark_core::CheckOutcome::judged(
                    !failed.contains(&check.as_str()),
                    Some("seen".into()),
                    "wanted",
                ),
            })
            .collect();
        bulwark_server::ingest::submit(&app.state, vm["scan_id"].as_str().unwrap(), results)
            .await
            .unwrap();
        let done = machines_until(&app, "?status=completed", |l| {
            l.iter().any(|v| v["id"] == id.as_str())
        })
        .await;
        let vm = done.iter().find(|v| v["id"] == id.as_str()).unwrap();
        assert_eq!(vm["handover_blocked"], blocked, "case {i}: {vm}");
        let got = vm["block_reason"].as_str().unwrap_or_default();
        assert!(got.contains(reason), "case {i}: {got:?} lacks {reason:?}");
        assert_eq!(vm["failed"].as_i64(), Some(failed.len() as i64), "case {i}");
        assert_eq!(
            vm["high_failures"].as_i64(),
            Some(failed.iter().filter(|c| **c == high).count() as i64)
        );
    }
}

/// A machine whose start was lost (the replica that received it stopped) fails with the
/// reason once it is past the connect wait and the grace, and stays blocked in block mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_whose_start_was_lost_fails_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestApp::config();
    config.provisioning.connect_wait = Duration::ZERO;
    config.provisioning.stall_grace = Duration::ZERO;
    let store = bulwark_store::testing::sqlite(dir.path()).await.unwrap();
    let app = TestApp::on_config(store, dir, config).await;
    settings(
        &app,
        json!({"enabled": true, "enforcement_mode": "block"}),
        json!({}),
    )
    .await;
    // Recorded as a delivery would, but never started (as if the replica had stopped).
    let (vm, _) = app
        .state
        .store
        .record_provisioned_vm(
            &bulwark_store::Scope::All,
            &bulwark_store::NewProvisionedVm {
                org_id: app.a.id.clone(),
                source: bulwark_core::provisioning::ProvisionSource::Api,
                provider: bulwark_core::provisioning::VmProvider::Other,
                tf_organization: None,
                workspace: None,
                project: None,
                run_id: "lost".into(),
                address: "10.3.3.3".into(),
                port: 22,
                hostname: "vm-lost".into(),
                host_key: None,
                run_task_id: None,
                status: bulwark_core::provisioning::ProvisionStatus::Pending,
                exempted: false,
                failure: None,
                enforcement_mode: bulwark_core::provisioning::EnforcementMode::Block,
                profile: bulwark_core::provisioning::CisProfile::Level1Server,
                min_score: 70.0,
            },
        )
        .await
        .unwrap();
    // The sweep as of the second it was recorded, then the second after.
    bulwark_server::provisioning::reconcile::fail_stalled(&app.state, vm.created_at)
        .await
        .unwrap();
    let fresh = app
        .state
        .store
        .get_provisioned_vm(&bulwark_store::Scope::All, &vm.id)
        .await
        .unwrap();
    assert_eq!(
        fresh.status,
        bulwark_core::provisioning::ProvisionStatus::Pending,
        "not stalled yet"
    );
    bulwark_server::provisioning::reconcile::fail_stalled(&app.state, vm.created_at + 1)
        .await
        .unwrap();
    let failed = app
        .state
        .store
        .get_provisioned_vm(&bulwark_store::Scope::All, &vm.id)
        .await
        .unwrap();
    assert_eq!(
        failed.status,
        bulwark_core::provisioning::ProvisionStatus::Failed
    );
    assert_eq!(
        failed.failure.as_deref(),
        Some(bulwark_server::provisioning::reconcile::STALLED)
    );
    assert!(failed.held(), "block mode holds a machine nobody scanned");
}
