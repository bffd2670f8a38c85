//! The JSON API in process: the statuses the seeds name, bad input, tenancy, and the role
//! matrix generated from the route table.

mod common;

use axum::http::StatusCode;
use bulwark_core::Role;
use bulwark_server::api::{Access, ROUTES};
use common::TestApp;
use serde_json::{Value, json};

const L1: &str = "cis-linux-l1";

async fn policy(app: &TestApp, token: &str, template: &str) -> Value {
    app.ok("POST", "/api/v1/compliance/policies", token, Some(json!({
        "name": "Linux baseline", "os_type": "linux", "template_id": template, "scan_interval_hours": 24
    })))
    .await
}

#[tokio::test]
async fn statuses_the_seeds_name() {
    let app = TestApp::new().await;
    let user = app.token("user");
    let first_check = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/templates/{L1}"),
            user,
            None,
        )
        .await["checks"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // 403: editing a system template, in every way.
    for (method, path, body) in [
        (
            "PATCH",
            format!("/api/v1/compliance/templates/{L1}/checks/{first_check}"),
            json!({"enabled": false}),
        ),
        (
            "POST",
            format!("/api/v1/compliance/templates/{L1}/checks/bulk-toggle"),
            json!({"check_ids": [first_check], "enabled": false}),
        ),
        (
            "DELETE",
            format!("/api/v1/compliance/templates/{L1}"),
            Value::Null,
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let r = app.call(method, &path, user, body).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            r.text
        );
        assert!(
            r.text.contains("copy"),
            "the message says what to do: {}",
            r.text
        );
    }
    // A system template is every organization's: only settings.manage switches it off, and
    // an inactive template cannot be bound to a new policy.
    let r = app
        .call(
            "POST",
            &format!("/api/v1/compliance/templates/{L1}/active"),
            user,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("settings.manage"), "{}", r.text);
    let off = app
        .ok(
            "POST",
            &format!("/api/v1/compliance/templates/{L1}/active"),
            &app.root,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(off["active"], false);
    let r = app
        .call(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({"name": "Off", "os_type": "linux", "template_id": L1})),
        )
        .await;
    assert_eq!(
        (r.status, r.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("template_id")),
        "{}",
        r.text
    );
    assert!(r.text.contains("inactive"), "{}", r.text);
    app.ok(
        "POST",
        &format!("/api/v1/compliance/templates/{L1}/active"),
        &app.root,
        Some(json!({"active": true})),
    )
    .await;

    // 422: a template written for another OS, bound directly or as a host's override.
    let r = app
        .call(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({"name": "Wrong", "os_type": "linux", "template_id": "cis-windows-server-l1"})),
        )
        .await;
    assert_eq!(
        (r.status, r.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("template_id")),
        "{}",
        r.text
    );
    assert!(r.text.contains("written for windows"), "{}", r.text);

    // 409: a second policy for the same organization and OS type.
    let copy = app
        .ok(
            "POST",
            &format!("/api/v1/compliance/templates/{L1}/copy"),
            user,
            Some(json!({"name": "Alpha L1"})),
        )
        .await;
    let copy_id = copy["id"].as_str().unwrap().to_owned();
    let p = policy(&app, user, &copy_id).await;
    let pid = p["id"].as_str().unwrap().to_owned();
    let dup = app
        .call(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({
                "name": "again", "os_type": "linux", "template_id": L1
            })),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT, "{}", dup.text);

    let r = app
        .call(
            "POST",
            &format!("/api/v1/compliance/templates/{copy_id}/checks/bulk-toggle"),
            user,
            Some(json!({"check_ids": [first_check, "NO-SUCH-CHECK"], "enabled": false})),
        )
        .await;
    assert_eq!(
        (r.status, r.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("check_ids")),
        "{}",
        r.text
    );
    assert!(r.text.contains("NO-SUCH-CHECK"), "{}", r.text);

    // A copy's check: its overrides are edited, then the check is removed.
    let probe = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/templates/{copy_id}"),
            user,
            None,
        )
        .await["checks"][0]["probe"]
        .clone();
    let patched = app
        .ok(
            "PATCH",
            &format!("/api/v1/compliance/templates/{copy_id}/checks/{first_check}"),
            user,
            Some(json!({"overrides": [{"distro": "rhel", "version": ">=9", "probe": probe}]})),
        )
        .await;
    assert_eq!(patched["overrides"][0]["distro"], "rhel", "{patched}");
    let detail = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/templates/{copy_id}"),
            user,
            None,
        )
        .await;
    assert_eq!(detail["template"]["framework"], "custom");
    assert_eq!(detail["template"]["copied_from"], L1);
    assert_eq!(detail["checks"][0]["overrides"][0]["version"], ">=9");
    let before = detail["checks"].as_array().unwrap().len();
    app.ok(
        "DELETE",
        &format!("/api/v1/compliance/templates/{copy_id}/checks/{first_check}"),
        user,
        None,
    )
    .await;
    let r = app
        .call(
            "DELETE",
            &format!("/api/v1/compliance/templates/{copy_id}/checks/{first_check}"),
            user,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = app
        .call(
            "DELETE",
            &format!("/api/v1/compliance/templates/{L1}/checks/{first_check}"),
            user,
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a system template: {}",
        r.text
    );
    let detail = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/templates/{copy_id}"),
            user,
            None,
        )
        .await;
    assert_eq!(detail["checks"].as_array().unwrap().len(), before - 1);

    // A cron schedule is set, then removed again with `null`.
    let scheduled = app
        .ok(
            "PUT",
            &format!("/api/v1/compliance/policies/{pid}"),
            user,
            Some(json!({"schedule_type": "scheduled", "cron": "0 3 * * *"})),
        )
        .await;
    assert_eq!(scheduled["cron"], "0 3 * * *");
    let cleared = app
        .ok(
            "PUT",
            &format!("/api/v1/compliance/policies/{pid}"),
            user,
            Some(json!({"schedule_type": "continuous", "cron": null})),
        )
        .await;
    assert!(cleared["cron"].is_null(), "{cleared}");

    // 409: deleting a template a policy uses.
    let r = app
        .call(
            "DELETE",
            &format!("/api/v1/compliance/templates/{copy_id}"),
            user,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    let r = app
        .call(
            "POST",
            &format!("/api/v1/compliance/policies/{pid}/overrides"),
            user,
            Some(json!({"host_id": app.host_a.id, "template_id": "cis-windows-server-l1"})),
        )
        .await;
    assert_eq!(
        (r.status, r.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("template_id")),
        "{}",
        r.text
    );
    let r = app
        .call(
            "PUT",
            &format!("/api/v1/compliance/policies/{pid}"),
            user,
            Some(json!({"template_id": "cis-windows-server-l1"})),
        )
        .await;
    assert_eq!(r.field().as_deref(), Some("template_id"), "{}", r.text);

    // 409: a second override for the same host and policy.
    let body = json!({"host_id": app.host_a.id, "template_id": L1});
    app.ok(
        "POST",
        &format!("/api/v1/compliance/policies/{pid}/overrides"),
        user,
        Some(body.clone()),
    )
    .await;
    let r = app
        .call(
            "POST",
            &format!("/api/v1/compliance/policies/{pid}/overrides"),
            user,
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    // 404: another organization's objects, exactly like missing ones.
    for path in [
        format!("/api/v1/compliance/policies/{pid}"),
        format!("/api/v1/compliance/templates/{copy_id}"),
        format!("/api/v1/hosts/{}", app.host_a.id),
        format!("/api/v1/compliance/policies/{pid}/overrides"),
        "/api/v1/compliance/policies/does-not-exist".to_string(),
    ] {
        let r = app.call("GET", &path, &app.b_token, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
        assert_eq!(r.json()["error"]["code"], "not_found");
    }
    let r = app
        .call(
            "PUT",
            &format!("/api/v1/compliance/policies/{pid}"),
            &app.b_token,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.ok(
            "GET",
            &format!("/api/v1/compliance/policies/{pid}"),
            user,
            None
        )
        .await["active"],
        true,
        "nothing changed"
    );

    // 422: interval out of range, on create and on update, naming the field.
    for hours in [23, 169, 0] {
        let r = app
            .call(
                "PUT",
                &format!("/api/v1/compliance/policies/{pid}"),
                user,
                Some(json!({"scan_interval_hours": hours})),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{hours}: {}",
            r.text
        );
        assert_eq!(r.field().as_deref(), Some("scan_interval_hours"));
        let r = app.call("POST", "/api/v1/compliance/policies", user, Some(json!({
            "name": "w", "os_type": "windows", "template_id": L1, "scan_interval_hours": hours
        }))).await;
        assert_eq!(
            (r.status, r.field().as_deref()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("scan_interval_hours")
            )
        );
    }
    for hours in [24, 168] {
        app.ok(
            "PUT",
            &format!("/api/v1/compliance/policies/{pid}"),
            user,
            Some(json!({"scan_interval_hours": hours})),
        )
        .await;
    }
}

#[tokio::test]
async fn bad_input_answers_with_the_field_and_changes_nothing() {
    let app = TestApp::new().await;
    let user = app.token("user");
    let cases: Vec<(&str, StatusCode, Option<&str>)> = vec![
        (
            r#"{"name": "x", "os_type": "linux", "template_id": "cis-linux-l1""#,
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            r#"{"name": "x", "os_type": "linux", "template_id": "cis-linux-l1", "colour": 1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("colour"),
        ),
        (
            r#"{"name": "x", "os_type": "linux", "template_id": 7}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("template_id"),
        ),
        (
            r#"{"name": "x", "os_type": "linux", "template_id": "cis-linux-l1", "scan_interval_hours": "daily"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("scan_interval_hours"),
        ),
        (
            r#"{"name": "x", "template_id": "cis-linux-l1"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("os_type"),
        ),
        (
            r#"{"name": "x", "os_type": "solaris", "template_id": "cis-linux-l1"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("os_type"),
        ),
        (
            r#"{"name": "x", "os_type": "linux", "template_id": "cis-linux-l1", "schedule_type": "scheduled"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("cron"),
        ),
        (
            r#"{"name": "x", "os_type": "linux", "template_id": "cis-linux-l1", "schedule_type": "scheduled", "cron": "often"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("cron"),
        ),
        // A schedule obeys the interval rule: every minute, hourly or monthly is refused.
        (
            r#"{"name": "x", "os_type": "linux", "template_id": "cis-linux-l1", "schedule_type": "scheduled", "cron": "* * * * *"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("cron"),
        ),
        (
            r#"{"name": "x", "os_type": "linux", "template_id": "cis-linux-l1", "schedule_type": "scheduled", "cron": "0 3 1 * *"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("cron"),
        ),
        (
            r#"{"name": "x", "os_type": "linux", "template_id": "no-such-template"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("template_id"),
        ),
        (
            r#"{"name": "x", "os_type": "linux", "template_id": "cis-linux-l1", "passing_threshold": 101}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("passing_threshold"),
        ),
    ];
    for (body, status, field) in cases {
        let r = app
            .send(
                "POST",
                "/api/v1/compliance/policies",
                Some(user),
                Some(body),
            )
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_eq!(r.field().as_deref(), field, "{body}: {}", r.text);
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let huge = format!(
        r#"{{"name": "{}", "os_type": "linux", "template_id": "cis-linux-l1"}}"#,
        "x".repeat(100_000)
    );
    let r = app
        .send(
            "POST",
            "/api/v1/compliance/policies",
            Some(user),
            Some(&huge),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    let r = app
        .send("POST", "/api/v1/compliance/policies", Some(user), None)
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "no content type: {}",
        r.text
    );
    for (query, field) in [
        ("days=0", "days"),
        ("days=366", "days"),
        ("days=soon", "days"),
        ("colour=red", "colour"),
    ] {
        let r = app
            .call(
                "GET",
                &format!("/api/v1/compliance/trends?{query}"),
                user,
                None,
            )
            .await;
        assert_eq!(
            (r.status, r.field().as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{query}: {}",
            r.text
        );
    }
    // Filters and states are closed sets: a value outside them names its field.
    for (path, field) in [
        ("/api/v1/compliance/scans?status=done", "status"),
        ("/api/v1/hosts?status=up", "status"),
        ("/api/v1/hosts?health=fine", "health"),
        ("/api/v1/hosts?os_kind=macos", "os_kind"),
    ] {
        let r = app.call("GET", path, user, None).await;
        assert_eq!(
            (r.status, r.field().as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{path}: {}",
            r.text
        );
    }

    assert!(
        app.ok("GET", "/api/v1/compliance/policies", user, None)
            .await
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was stored"
    );
    let r = app
        .call(
            "POST",
            "/api/v1/compliance/exceptions",
            user,
            Some(json!({"rule_id": "CIS-1.1.1", "reason": " "})),
        )
        .await;
    assert_eq!(
        (r.status, r.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason"))
    );
    let r = app
        .send("GET", "/api/v1/compliance/policies", None, None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app
        .send(
            "GET",
            "/api/v1/compliance/policies",
            Some("bwt_forged"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.call("GET", "/api/v1/nothing-here", user, None).await;
    assert_eq!(
        (r.status, r.json()["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let r = app
        .call("DELETE", "/api/v1/compliance/stats", user, None)
        .await;
    assert_eq!(
        (r.status, r.json()["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")),
        "the one error shape: {}",
        r.text
    );
}

/// Fills `{param}` segments with ids that exist nowhere.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "00000000-0000-4000-8000-000000000000"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn role_matrix_over_every_endpoint() {
    let app = TestApp::new().await;
    // Logging out ends the caller's token, so it goes last.
    let mut routes: Vec<_> = ROUTES.iter().collect();
    routes.sort_by_key(|r| r.path == "/api/v1/auth/logout");
    for route in routes {
        let path = concrete(route.path);
        let body = matches!(route.method, "POST" | "PUT" | "PATCH").then_some("{}");
        let anonymous = app.send(route.method, &path, None, body).await;
        match route.access {
            Access::Public => assert_ne!(
                anonymous.status,
                StatusCode::UNAUTHORIZED,
                "{} {}",
                route.method,
                route.path
            ),
            _ => assert_eq!(
                anonymous.status,
                StatusCode::UNAUTHORIZED,
                "{} {} without a token",
                route.method,
                route.path
            ),
        }
        for role in Role::ALL {
            let r = app
                .send(route.method, &path, Some(app.token(role.as_str())), body)
                .await;
            let allowed = match route.access {
                Access::Needs(p) => role.can(p),
                // Every role's token here sees one organization.
                Access::AccountWide(_) => false,
                _ => true,
            };
            if matches!(route.access, Access::Agent | Access::Signed) {
                // User credentials never stand in for an agent's or Terraform's signature.
                assert_eq!(
                    r.status,
                    StatusCode::UNAUTHORIZED,
                    "{} {} as {role:?}: {}",
                    route.method,
                    route.path,
                    r.text
                );
            } else if allowed {
                assert!(
                    r.status != StatusCode::FORBIDDEN && r.status != StatusCode::UNAUTHORIZED,
                    "{} {} as {role:?}: {} {}",
                    route.method,
                    route.path,
                    r.status,
                    r.text
                );
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{} {} as {role:?}: {}",
                    route.method,
                    route.path,
                    r.text
                );
                assert!(
                    r.text.contains(role.as_str()),
                    "the message names the role: {}",
                    r.text
                );
            }
        }
    }
}

#[tokio::test]
async fn openapi_describes_every_route_with_its_bodies() {
    let app = TestApp::new().await;
    let doc = app.json_public("/api/openapi.json").await;
    for route in ROUTES {
        let op = &doc["paths"][route.path][route.method.to_lowercase()];
        assert!(op.is_object(), "{} {} missing", route.method, route.path);
        if let Access::Needs(p) = route.access {
            assert_eq!(op["x-permission"], p.as_str());
        }
        let answer = &op["responses"]["200"]["content"];
        assert!(
            answer.as_object().is_some_and(|c| !c.is_empty()),
            "{} {} has no answer schema",
            route.method,
            route.path
        );
        assert_eq!(
            op["requestBody"].is_object(),
            route.body.is_some() || route.upload.is_some(),
            "{} {}",
            route.method,
            route.path
        );
    }
    assert_eq!(
        doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_object().unwrap().len())
            .sum::<usize>(),
        ROUTES.len()
    );

    // Every reference resolves to a schema of the document.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let pointer = r.strip_prefix('#').expect("local references only");
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }

    // Bodies and answers are described field by field, from the types the server uses.
    let schema = |name: &str| doc["components"]["schemas"][name].clone();
    let policy_body = schema("PolicyBody");
    assert_eq!(
        policy_body["additionalProperties"], false,
        "unknown fields are refused"
    );
    assert!(policy_body["properties"]["scan_interval_hours"].is_object());
    assert!(schema("Scan")["properties"]["score"].is_object());
    assert!(schema("Check")["properties"]["probe"].is_object());
    let trigger = &doc["paths"]["/api/v1/compliance/scans"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(trigger["$ref"], "#/components/schemas/TriggerBody");
    let list = &doc["paths"]["/api/v1/compliance/scans"]["get"]["parameters"];
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for q in ["status", "host_id", "policy_id", "q", "limit"] {
        assert!(names.contains(&q), "query parameter {q} in {names:?}");
    }
}

#[tokio::test]
async fn login_sessions_and_rate_limit() {
    let app = TestApp::new().await;
    let hash = bulwark_server::auth::hash_password("correct horse battery").unwrap();
    app.state
        .store
        .create_user(
            "carol",
            &hash,
            Role::Viewer,
            Some(std::slice::from_ref(&app.a.id)),
        )
        .await
        .unwrap();
    let login = |password: &str| json!({"username": "carol", "password": password}).to_string();
    let ok = app
        .send(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&login("correct horse battery")),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let cookie = ok.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let session = cookie.split(';').next().unwrap().to_owned();
    let me = app
        .router
        .clone()
        .oneshot_with_cookie("/api/v1/auth/me", &session)
        .await;
    assert_eq!(me["user"]["username"], "carol");
    assert_eq!(me["permissions"], json!(["compliance.view", "hosts.view"]));
    // Failures slow the next try down instead of locking the account: five are free, then
    // each try waits a little longer after the last failure, and the right password still
    // gets in once the wait is over.
    for _ in 0..5 {
        let r = app
            .send("POST", "/api/v1/auth/login", None, Some(&login("wrong")))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // A sixth failure, recorded now: the next try waits two seconds after it. (Recorded
    // directly, because under load five argon2 checks can outlast the first second's wait.)
    let now = bulwark_store::now();
    app.state
        .store
        .record_login_failure("carol", "unknown", now, 0)
        .await
        .unwrap();
    let r = app
        .send(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&login("correct horse battery")),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a try right after the sixth failure waits: {}",
        r.text
    );
    assert!(r.text.contains("try again in"), "{}", r.text);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = app
        .send(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&login("correct horse battery")),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "in after the short wait: {}",
        r.text
    );
}

fn login_from(
    source: [u8; 4],
    username: &str,
    password: &str,
) -> axum::http::Request<axum::body::Body> {
    let mut req = axum::http::Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"username": username, "password": password}).to_string(),
        ))
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            source, 40000,
        ))));
    req
}

/// A source that keeps failing, against any user names, is held back; the account it
/// guessed at stays open to its owner elsewhere.
#[tokio::test]
async fn a_guessing_source_is_held_back_and_its_targets_stay_open() {
    let app = TestApp::new().await;
    let hash = bulwark_server::auth::hash_password("correct horse battery").unwrap();
    app.state
        .store
        .create_user(
            "dora",
            &hash,
            Role::Viewer,
            Some(std::slice::from_ref(&app.a.id)),
        )
        .await
        .unwrap();
    let guesser = [203, 0, 113, 9];
    for i in 0..20 {
        let r = app
            .dispatch(login_from(guesser, &format!("name-{i}"), "guess"))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    }
    // Two more, recorded now, so the wait (four seconds) outlasts any slowness of the test.
    for name in ["name-20", "name-21"] {
        app.state
            .store
            .record_login_failure(name, "203.0.113.9", bulwark_store::now(), 0)
            .await
            .unwrap();
    }
    let r = app
        .dispatch(login_from(guesser, "dora", "correct horse battery"))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    let r = app
        .dispatch(login_from(
            [198, 51, 100, 4],
            "dora",
            "correct horse battery",
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// A login takes as long for a user name that does not exist as for a wrong password: both
/// verify an argon2 hash, so timing does not tell which names exist.
#[tokio::test]
async fn login_time_does_not_reveal_which_user_names_exist() {
    let app = TestApp::new().await;
    let hash = bulwark_server::auth::hash_password("correct horse battery").unwrap();
    app.state
        .store
        .create_user(
            "erin",
            &hash,
            Role::Viewer,
            Some(std::slice::from_ref(&app.a.id)),
        )
        .await
        .unwrap();
    let mut median = Vec::new();
    for known in [true, false] {
        let mut took = Vec::new();
        for i in 0..3 {
            let name = if known {
                "erin".to_owned()
            } else {
                format!("nobody-{i}")
            };
            let started = std::time::Instant::now();
            let r = app
                .dispatch(login_from([192, 0, 2, 1 + i], &name, "wrong"))
                .await;
            took.push(started.elapsed());
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        }
        took.sort();
        median.push(took[1]);
    }
    let (known, unknown) = (median[0], median[1]);
    assert!(
        unknown * 2 >= known,
        "an unknown name answers in {unknown:?}, a known one in {known:?}"
    );
}

trait CookieCall {
    async fn oneshot_with_cookie(self, path: &str, cookie: &str) -> Value;
}

impl CookieCall for axum::Router {
    async fn oneshot_with_cookie(self, path: &str, cookie: &str) -> Value {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let req = axum::http::Request::get(path)
            .header("cookie", cookie)
            .body(axum::body::Body::empty())
            .unwrap();
        let res = self.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap()
    }
}

impl TestApp {
    async fn json_public(&self, path: &str) -> Value {
        let r = self.send("GET", path, None, None).await;
        assert_eq!(r.status, StatusCode::OK);
        r.json()
    }
}

/// Exceptions take dates as people write them, can be edited while active, and an
/// account-wide caller names the organization of an organization-wide one.
#[tokio::test]
async fn exceptions_take_dates_and_can_be_edited() {
    let app = TestApp::new().await;
    let user = app.token("user");
    let create = |body: Value| app.call("POST", "/api/v1/compliance/exceptions", user, Some(body));
    for (expires, want) in [
        (json!("2099-01-31"), Some(4_073_587_199_i64)),
        (json!("2099-01-31T12:00:00Z"), Some(4_073_544_000)),
        (json!(4_073_544_000_i64), Some(4_073_544_000)),
        (json!("soon"), None),
        (json!("2001-01-01"), None),
    ] {
        let r =
            create(json!({"rule_id": "CIS-1.1.1", "reason": "lab host", "expires_at": expires}))
                .await;
        match want {
            Some(at) => {
                assert_eq!(r.status, StatusCode::OK, "{expires}: {}", r.text);
                assert_eq!(r.json()["expires_at"], at, "{expires}");
            }
            None => assert_eq!(
                (r.status, r.field().as_deref()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("expires_at")),
                "{expires}: {}",
                r.text
            ),
        }
    }
    let made = create(
        json!({"rule_id": "CIS-2.2.2", "reason": "first reason", "expires_at": "2099-06-30"}),
    )
    .await
    .json();
    let id = made["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/compliance/exceptions/{id}");
    let edited = app
        .ok(
            "PATCH",
            &path,
            user,
            Some(json!({"reason": "reviewed: still needed", "expires_at": null})),
        )
        .await;
    assert_eq!(
        (
            edited["reason"].as_str(),
            edited["expires_at"].is_null(),
            edited["rule_id"].as_str()
        ),
        (Some("reviewed: still needed"), true, Some("CIS-2.2.2"))
    );
    let r = app
        .call("PATCH", &path, user, Some(json!({"reason": "  "})))
        .await;
    assert_eq!(r.field().as_deref(), Some("reason"), "{}", r.text);
    let r = app
        .call(
            "PATCH",
            &path,
            &app.b_token,
            Some(json!({"reason": "mine now"})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another tenant: {}",
        r.text
    );
    app.ok("DELETE", &path, user, None).await;
    let r = app
        .call("PATCH", &path, user, Some(json!({"reason": "too late"})))
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "a revoked exception stays as it was: {}",
        r.text
    );

    // An account-wide caller sees two organizations: an org-wide exception names one.
    let r = app
        .call(
            "POST",
            "/api/v1/compliance/exceptions",
            &app.root,
            Some(json!({"rule_id": "X-1", "reason": "r"})),
        )
        .await;
    assert_eq!(r.field().as_deref(), Some("org_id"), "{}", r.text);
    let named = app
        .ok(
            "POST",
            "/api/v1/compliance/exceptions",
            &app.root,
            Some(json!({"rule_id": "X-1", "reason": "r", "org_id": app.b.id})),
        )
        .await;
    assert_eq!(named["org_id"], app.b.id.as_str());

    // An account-wide exception waives a rule in every organization; its users see it but
    // cannot change it.
    let everywhere = app
        .ok(
            "POST",
            "/api/v1/compliance/exceptions",
            &app.root,
            Some(json!({"rule_id": "X-2", "reason": "accepted for the whole account", "account_wide": true})),
        )
        .await;
    assert!(everywhere["org_id"].is_null(), "{everywhere}");
    let seen = app
        .ok(
            "GET",
            "/api/v1/compliance/exceptions?state=active",
            &app.b_token,
            None,
        )
        .await;
    assert!(seen.to_string().contains("X-2"), "{seen}");
    let r = app
        .call(
            "PATCH",
            &format!(
                "/api/v1/compliance/exceptions/{}",
                everywhere["id"].as_str().unwrap()
            ),
            user,
            Some(json!({"reason": "only ours"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = app
        .call(
            "POST",
            "/api/v1/compliance/exceptions",
            &app.root,
            Some(json!({"rule_id": "X-3", "reason": "r", "account_wide": true, "host_id": app.host_a.id})),
        )
        .await;
    assert_eq!(r.field().as_deref(), Some("account_wide"), "{}", r.text);
    let r = app
        .call(
            "POST",
            "/api/v1/compliance/exceptions",
            user,
            Some(json!({"rule_id": "X-4", "reason": "r", "account_wide": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Users who see every organization are made by account-wide callers only.
    let body = json!({"username": "auditor", "password": "a long enough password", "role": "viewer", "all_orgs": true});
    let made = app
        .ok("POST", "/api/v1/users", &app.root, Some(body.clone()))
        .await;
    assert_eq!(made["all_orgs"], true, "{made}");
    let r = app.call("POST", "/api/v1/users", app.token("admin"), Some(json!({"username": "auditor2", "password": "a long enough password", "role": "viewer", "all_orgs": true}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

/// The host list searches, sorts and pages on the server, so that a fleet of thousands is
/// listed a page at a time.
#[tokio::test]
async fn hosts_are_searched_sorted_and_paged() {
    let app = TestApp::new().await;
    let mut made = Vec::new();
    for name in ["db-1", "db-2", "cache-1"] {
        made.push(common::new_host(&app.state.store, &app.a, name).await);
    }
    // db-1 scores worse than db-2; the others were never scanned.
    let policy = policy(&app, app.token("user"), "cis-linux-l1").await;
    let pid = policy["id"].as_str().unwrap();
    for (host, failures) in [(&made[0], 40), (&made[1], 2)] {
        let scan = common::trigger(&app, pid, &host.id).await;
        let results = common::agent_results(&app, "cis-linux-l1", failures).await;
        bulwark_server::ingest::submit(&app.state, &scan, results)
            .await
            .unwrap();
    }
    let names = |path: String| {
        let app = &app;
        async move {
            app.ok("GET", &path, &app.root, None)
                .await
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["hostname"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    for (query, want) in [
        ("", vec!["cache-1", "db-1", "db-2", "web-a", "web-b"]),
        ("q=DB", vec!["db-1", "db-2"]),
        ("q=debian&limit=2", vec!["cache-1", "db-1"]),
        ("limit=2&offset=2", vec!["db-2", "web-a"]),
        ("offset=4", vec!["web-b"]),
        ("q=nothing", vec![]),
    ] {
        assert_eq!(
            names(format!("/api/v1/hosts?{query}")).await,
            want,
            "{query}"
        );
    }
    for (query, field) in [
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
        ("sort=size", "sort"),
    ] {
        let r = app
            .call("GET", &format!("/api/v1/hosts?{query}"), &app.root, None)
            .await;
        assert_eq!(r.field().as_deref(), Some(field), "{query}: {}", r.text);
    }
    let by_seen = names("/api/v1/hosts?sort=last_seen".into()).await;
    assert_eq!(by_seen.len(), 5);
    assert_eq!(
        names("/api/v1/hosts?sort=score".into()).await,
        ["db-1", "db-2", "cache-1", "web-a", "web-b"],
        "worst first, never scanned last"
    );
    // Both were scanned within the same second; the scanned ones come first.
    let mut recent = names("/api/v1/hosts?sort=last_scan&limit=2".into()).await;
    recent.sort();
    assert_eq!(recent, ["db-1", "db-2"], "scanned hosts first");
}

/// The second seed document's policy body is read as another spelling of the same policy;
/// the interval rule and every other rule stay.
/// A request with several wrong fields is answered once, naming every one of them.
#[tokio::test]
async fn every_problem_of_a_request_is_named_at_once() {
    let app = TestApp::new().await;
    let user = app.token("user");
    let r = app
        .call(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({
                "name": " ", "os_type": "linux", "template_id": "cis-linux-l1", "scan_interval_hours": 1,
                "passing_threshold": 200, "schedule_type": "scheduled", "cron": "* * * * *"
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let fields: Vec<String> = r.json()["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        ["name", "scan_interval_hours", "passing_threshold", "cron"],
        "{}",
        r.text
    );
    assert_eq!(r.field().as_deref(), Some("name"));

    let r = app
        .call(
            "POST",
            "/api/v1/compliance/exceptions",
            user,
            Some(json!({
                "rule_id": " ", "reason": "", "host_id": app.host_a.id, "group_id": "g",
                "expires_at": "2001-01-01"
            })),
        )
        .await;
    let fields: Vec<String> = r.json()["error"]["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text))
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        ["rule_id", "reason", "group_id", "expires_at"],
        "{}",
        r.text
    );
}

#[tokio::test]
async fn policies_in_the_other_form() {
    let app = TestApp::new().await;
    let user = app.token("user");
    let created = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({
                "name": "Linux servers - CIS Level 2", "cis_level": "level_2", "target_os": "linux",
                "schedule_type": "continuous", "check_interval_minutes": 2880, "passing_score_threshold": 85
            })),
        )
        .await;
    assert_eq!(
        (
            created["os_kind"].as_str(),
            created["template_id"].as_str(),
            created["interval_hours"].as_i64(),
            created["passing_threshold"].as_f64()
        ),
        (Some("linux"), Some("cis-linux-l2"), Some(48), Some(85.0))
    );
    for (body, field) in [
        (
            json!({"name": "w", "cis_level": "level_1", "target_os": "windows", "check_interval_minutes": 60}),
            "check_interval_minutes",
        ),
        (
            json!({"name": "w", "cis_level": "level_1", "target_os": "windows", "check_interval_minutes": 1450}),
            "check_interval_minutes",
        ),
        (
            json!({"name": "m", "cis_level": "level_1", "target_os": "darwin"}),
            "cis_level",
        ),
        (json!({"name": "a", "target_os": "all"}), "cis_level"),
        (
            json!({"name": "x", "cis_level": "level_1", "target_os": "linux", "os_type": "linux"}),
            "target_os",
        ),
        (
            json!({"name": "x", "cis_level": "level_3", "target_os": "linux"}),
            "cis_level",
        ),
    ] {
        let r = app
            .call(
                "POST",
                "/api/v1/compliance/policies",
                user,
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (r.status, r.field().as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{body}: {}",
            r.text
        );
    }
    let id = created["id"].as_str().unwrap();
    let updated = app
        .ok(
            "PUT",
            &format!("/api/v1/compliance/policies/{id}"),
            user,
            Some(json!({"cis_level": "level_1", "check_interval_minutes": 1440})),
        )
        .await;
    assert_eq!(
        (
            updated["template_id"].as_str(),
            updated["interval_hours"].as_i64()
        ),
        (Some("cis-linux-l1"), Some(24))
    );
}

/// What the edge refuses or limits for any caller: NUL characters (which PostgreSQL cannot
/// store) as a 422 naming the field; a cookie-authenticated API write without the page's CSRF
/// token; logging out with an API token (which revokes nothing); and a session cookie without
/// `Secure` behind a proxy that says the browser came over HTTPS.
#[tokio::test]
async fn the_edge_refuses_nul_cookie_writes_without_csrf_and_keeps_tokens_on_logout() {
    let app = TestApp::new().await;
    let user = app.token("user");
    let r = app
        .call(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({"name": "a\0b", "os_type": "linux", "template_id": "cis-linux-l1"})),
        )
        .await;
    assert_eq!(
        (r.status, r.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name")),
        "{}",
        r.text
    );
    let r = app.call("GET", "/api/v1/hosts?q=a%00b", user, None).await;
    assert_eq!(
        (r.status, r.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("q")),
        "{}",
        r.text
    );

    let hash = bulwark_server::auth::hash_password("correct horse battery").unwrap();
    app.state
        .store
        .create_user(
            "fay",
            &hash,
            Role::User,
            Some(std::slice::from_ref(&app.a.id)),
        )
        .await
        .unwrap();
    let login = axum::http::Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .header("x-forwarded-proto", "https")
        .body(axum::body::Body::from(
            json!({"username": "fay", "password": "correct horse battery"}).to_string(),
        ))
        .unwrap();
    let r = app.dispatch(login).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let cookie = r.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let secret = session.split_once('=').unwrap().1.to_owned();
    let write = |csrf: Option<String>| {
        let mut req = axum::http::Request::post("/api/v1/compliance/policies")
            .header("cookie", &session)
            .header("content-type", "application/json");
        if let Some(token) = csrf {
            req = req.header("x-csrf-token", token);
        }
        req.body(axum::body::Body::from(
            json!({"name": "by cookie", "os_type": "linux", "template_id": "cis-linux-l1"})
                .to_string(),
        ))
        .unwrap()
    };
    let r = app.dispatch(write(None)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("x-csrf-token"), "{}", r.text);
    let token = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(
            format!("bulwark-csrf\0{secret}").as_bytes(),
        ))
    };
    let r = app.dispatch(write(Some(token))).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "with the page's token: {}",
        r.text
    );

    // Logging out with an API token ends no session and keeps the token.
    let r = app.call("POST", "/api/v1/auth/logout", user, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.call("GET", "/api/v1/auth/me", user, None).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the token still works: {}",
        r.text
    );
}

/// The shipped templates are every organization's: an organization's administrator cannot
/// re-import them; an account-wide one can.
#[tokio::test]
async fn only_account_wide_administrators_reseed_the_shipped_templates() {
    let app = TestApp::new().await;
    for (token, status) in [
        (app.token("user"), StatusCode::FORBIDDEN),
        (app.token("admin"), StatusCode::FORBIDDEN),
        (app.root.as_str(), StatusCode::OK),
    ] {
        let r = app
            .call("POST", "/api/v1/compliance/checks/seed", token, None)
            .await;
        assert_eq!(r.status, status, "{}", r.text);
    }
}
