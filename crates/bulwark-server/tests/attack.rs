//! The cross-tenant sweep: an administrator of organization B calls every route of the route
//! table with the ids of organization A's real objects. Each answer must be exactly what a
//! made-up id gets (so nothing tells B that the object exists), never a success, and A's
//! objects must be untouched afterwards. The role sweep is `role_matrix_over_every_endpoint`
//! (api.rs); agent forgeries, limits and outbound targets have their own tests.

mod common;

use bulwark_core::Role;
use bulwark_server::api::{Access, ROUTES};
use common::{TestApp, token_for, trigger};
use serde_json::{Value, json};

const MISSING: &str = "00000000-0000-4000-8000-000000000000";

/// Organization A's objects, one of each kind a route can name.
struct Objects {
    template: String,
    check: String,
    policy: String,
    override_id: String,
    exception: String,
    scan: String,
    group: String,
    ssh_credential: String,
    job: String,
    provisioned_vm: String,
}

async fn objects_of_a(app: &TestApp) -> Objects {
    let admin = app.token("admin");
    let copy = app
        .ok(
            "POST",
            "/api/v1/compliance/templates/cis-linux-l1/copy",
            admin,
            Some(json!({"name": "Alpha hardening"})),
        )
        .await;
    let template = copy["id"].as_str().unwrap().to_owned();
    let detail = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/templates/{template}"),
            admin,
            None,
        )
        .await;
    let check = detail["checks"][0]["id"].as_str().unwrap().to_owned();
    let policy = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            admin,
            Some(
                json!({"org_id": app.a.id, "name": "Alpha Linux", "os_type": "linux",
                "template_id": template, "scan_interval_hours": 24}),
            ),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let override_id = app
        .ok(
            "POST",
            &format!("/api/v1/compliance/policies/{policy}/overrides"),
            admin,
            Some(json!({"host_id": app.host_a.id, "template_id": "cis-linux-l1"})),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let exception = app
        .ok(
            "POST",
            "/api/v1/compliance/exceptions",
            admin,
            Some(json!({"rule_id": check, "reason": "lab host", "expires_at": "2099-01-31"})),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let scan = trigger(app, &policy, &app.host_a.id).await;
    let group = app
        .ok(
            "POST",
            "/api/v1/host-groups",
            admin,
            Some(json!({"name": "alpha-web"})),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Stored directly: this server has no secret key, and the sweep is about the id.
    let ssh_credential = app
        .state
        .store
        .create_ssh_credential(
            &bulwark_store::Scope::All,
            &bulwark_store::NewSshCredential {
                org_id: app.a.id.clone(),
                name: "alpha scan key".into(),
                kind: bulwark_store::SshCredentialKind::Password,
                sealed_secret: "v1:00".into(),
                public_key: None,
            },
        )
        .await
        .unwrap()
        .id;
    let job = app
        .ok(
            "POST",
            &format!("/api/v1/hosts/{}/jobs", app.host_a.id),
            admin,
            Some(json!({"action": {"type": "netstat"}})),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let provisioned_vm = app
        .state
        .store
        .record_provisioned_vm(
            &bulwark_store::Scope::All,
            &bulwark_store::NewProvisionedVm {
                org_id: app.a.id.clone(),
                source: bulwark_core::provisioning::ProvisionSource::Api,
                provider: bulwark_core::provisioning::VmProvider::Aws,
                tf_organization: None,
                workspace: None,
                project: None,
                run_id: "run-a".into(),
                address: "10.0.0.7".into(),
                port: 22,
                hostname: "vm-a".into(),
                host_key: None,
                run_task_id: None,
                status: bulwark_core::provisioning::ProvisionStatus::Cancelled,
                exempted: false,
                failure: Some("scanning is off".into()),
                enforcement_mode: bulwark_core::provisioning::EnforcementMode::Block,
                profile: bulwark_core::provisioning::CisProfile::Level1Server,
                min_score: 70.0,
            },
        )
        .await
        .unwrap()
        .0
        .id;
    Objects {
        provisioned_vm,
        job,
        template,
        check,
        policy,
        override_id,
        exception,
        scan,
        group,
        ssh_credential,
    }
}

/// `path` with each `{param}` filled: by A's object of the kind the segment before it names,
/// or, with `made_up`, by an id that exists nowhere (the category and check names stay, so
/// only the object differs between the two calls).
fn fill(path: &str, app: &TestApp, objects: &Objects, made_up: bool) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        if !segment.starts_with('{') {
            out.push(segment.to_string());
            continue;
        }
        let before = segments[i - 1];
        let value = match (*segment, before) {
            ("{category}", _) => "software".to_string(),
            ("{check}", _) => objects.check.clone(),
            _ if made_up => MISSING.to_string(),
            ("{override_id}", _) => objects.override_id.clone(),
            (_, "exceptions") => objects.exception.clone(),
            (_, "policies") => objects.policy.clone(),
            (_, "scans") => objects.scan.clone(),
            (_, "templates") => objects.template.clone(),
            (_, "host-groups") => objects.group.clone(),
            (_, "ssh-credentials") => objects.ssh_credential.clone(),
            (_, "jobs") => objects.job.clone(),
            (_, "provisioned-vms") => objects.provisioned_vm.clone(),
            (_, "terraform") => app.a.id.clone(),
            (_, "hosts" | "agent") => app.host_a.id.clone(),
            (_, "orgs") => app.a.id.clone(),
            _ => panic!("{path}: no object of A for {segment} after {before}"),
        };
        out.push(value);
    }
    out.join("/")
}

/// A body each write route would accept from A, so that B's refusal cannot come from
/// validation alone.
fn body_for(method: &str, path: &str, app: &TestApp, objects: &Objects) -> Option<Value> {
    if method == "GET" || method == "DELETE" {
        return None;
    }
    Some(match path {
        p if p.ends_with("/overrides") => {
            json!({"host_id": app.host_b.id, "template_id": "cis-linux-l1"})
        }
        p if p.ends_with("/copy") => json!({"name": "stolen"}),
        p if p.ends_with("/active") => json!({"active": false}),
        p if p.ends_with("/bulk-toggle") => json!({"check_ids": [objects.check], "enabled": false}),
        p if p.ends_with("/members") => json!({"host_id": app.host_b.id}),
        p if p.ends_with("/maintenance") => json!({"maintenance": true}),
        p if p.ends_with("/jobs") => json!({"action": {"type": "netstat"}}),
        p if p.ends_with("/webhooks") => json!({"url": "https://example.com/hook"}),
        p if p.contains("/exceptions/") => json!({"reason": "mine now"}),
        p if p.contains("/policies/") => json!({"name": "mine now"}),
        p if p.contains("/checks/") => json!({"enabled": false}),
        _ => json!({}),
    })
}

#[tokio::test]
async fn another_organizations_objects_answer_like_missing_ones_on_every_route_sqlite() {
    sweep(TestApp::new().await).await;
}

#[tokio::test]
async fn another_organizations_objects_answer_like_missing_ones_on_every_route_postgres() {
    let store = bulwark_store::testing::postgres().await.unwrap();
    sweep(TestApp::on(store, tempfile::tempdir().unwrap()).await).await;
}

async fn sweep(app: TestApp) {
    let objects = objects_of_a(&app).await;
    let b_admin = token_for(
        &app.state.store,
        "b-admin",
        Role::Admin,
        Some(std::slice::from_ref(&app.b.id)),
    )
    .await;
    let mut swept = 0;
    for route in ROUTES {
        if !route.path.contains('{') || matches!(route.access, Access::Agent | Access::Public) {
            continue;
        }
        let real = fill(route.path, &app, &objects, false);
        let made_up = fill(route.path, &app, &objects, true);
        let body = body_for(route.method, route.path, &app, &objects);
        let to_real = app.call(route.method, &real, &b_admin, body.clone()).await;
        let to_made_up = app.call(route.method, &made_up, &b_admin, body).await;
        assert!(
            !to_real.status.is_success(),
            "{} {real} as B's administrator succeeded: {}",
            route.method,
            to_real.text
        );
        assert_eq!(
            to_real.status,
            to_made_up.status,
            "{} {}: A's object answers {} ({}), a made-up one {} ({})",
            route.method,
            route.path,
            to_real.status,
            to_real.text,
            to_made_up.status,
            to_made_up.text
        );
        swept += 1;
    }
    assert!(swept >= 25, "only {swept} routes with ids were swept");

    // Nothing of A's changed: every object is still there, as it was.
    let admin = app.token("admin");
    for path in [
        format!("/api/v1/compliance/templates/{}", objects.template),
        format!("/api/v1/compliance/policies/{}", objects.policy),
        format!("/api/v1/compliance/exceptions/{}", objects.exception),
        format!("/api/v1/compliance/scans/{}", objects.scan),
        format!("/api/v1/hosts/{}", app.host_a.id),
    ] {
        app.ok("GET", &path, admin, None).await;
    }
    let policy = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/policies/{}", objects.policy),
            admin,
            None,
        )
        .await;
    assert_eq!(policy["name"], "Alpha Linux");
    let exception = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/exceptions/{}", objects.exception),
            admin,
            None,
        )
        .await;
    assert_eq!(exception["reason"], "lab host");
    assert_eq!(exception["state"], "active");
    let overrides = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/policies/{}/overrides", objects.policy),
            admin,
            None,
        )
        .await;
    assert_eq!(overrides.as_array().unwrap().len(), 1, "{overrides}");
    let scan = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{}", objects.scan),
            admin,
            None,
        )
        .await;
    assert_eq!(scan["status"], "pending", "B could not cancel it");
    let host = app
        .ok(
            "GET",
            &format!("/api/v1/hosts/{}", app.host_a.id),
            admin,
            None,
        )
        .await;
    assert_ne!(host["maintenance"], true, "{host}");
    let template = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/templates/{}", objects.template),
            admin,
            None,
        )
        .await;
    assert!(
        template["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["enabled"] == true || c["id"] != objects.check.as_str()),
        "B could not switch A's check off"
    );

    // And B's lists hold none of A's objects.
    let a_ids = [
        objects.template.as_str(),
        objects.policy.as_str(),
        objects.exception.as_str(),
        objects.scan.as_str(),
        objects.group.as_str(),
        app.host_a.id.as_str(),
    ];
    for list in [
        "/api/v1/compliance/templates",
        "/api/v1/compliance/policies",
        "/api/v1/compliance/exceptions",
        "/api/v1/compliance/scans",
        "/api/v1/host-groups",
        "/api/v1/hosts",
        "/api/v1/orgs",
        "/api/v1/users",
        "/api/v1/compliance/export?format=ndjson",
    ] {
        let r = app.call("GET", list, &b_admin, None).await;
        assert!(r.status.is_success(), "{list}: {}", r.text);
        for id in a_ids {
            assert!(!r.text.contains(id), "{list} shows A's {id}: {}", r.text);
        }
    }
}
