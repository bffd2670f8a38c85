//! SCAP through the API: importing a data stream (listing first, then one profile as a
//! template), every kind of bad file answered with the line and nothing stored, tenancy, and
//! the reports of a completed scan in HTML, JSON and ARF.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bulwark_core::CheckOutcome;
use bulwark_server::ingest::{self, AgentResult};
use common::{Reply, TestApp, trigger};
use serde_json::{Value, json};

const PROFILE_BASE: &str = "xccdf_com.example.bulwark_profile_base";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../bulwark-scap/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn import(app: &TestApp, token: &str, query: &str, xml: Vec<u8>) -> Reply {
    let req = Request::builder()
        .method("POST")
        .uri(format!("/api/v1/compliance/templates/import-scap{query}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/xml")
        .body(Body::from(xml))
        .unwrap();
    app.dispatch(req).await
}

async fn custom_templates(app: &TestApp) -> usize {
    app.ok(
        "GET",
        "/api/v1/compliance/templates?system=false",
        &app.root,
        None,
    )
    .await
    .as_array()
    .unwrap()
    .len()
}

#[tokio::test]
async fn a_listing_stores_nothing_and_a_profile_becomes_a_template() {
    let app = TestApp::new().await;
    let user = app.token("user");

    let listed = import(&app, user, "", fixture("small-ds.xml")).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let listed = listed.json();
    let profiles: Vec<(String, u64)> = listed["contents"]["benchmarks"][0]["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["rules"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(profiles.len(), 3, "{profiles:?}");
    assert!(listed["template"].is_null());
    assert_eq!(custom_templates(&app).await, 0, "a listing stores nothing");

    let query = format!(
        "?profile={PROFILE_BASE}&org_id={}&file_name=small-ds.xml",
        app.a.id
    );
    let imported = import(&app, user, &query, fixture("small-ds.xml")).await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.text);
    let template = imported.json()["template"].clone();
    let tid = template["id"].as_str().unwrap();
    assert_eq!(template["engine"]["kind"], "oscap");
    assert_eq!(template["engine"]["profile_id"], PROFILE_BASE);
    assert_eq!(template["engine"]["file_name"], "small-ds.xml");
    let max_days = template["engine"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "xccdf_com.example.bulwark_value_max_days")
        .cloned();
    assert_eq!(
        max_days.map(|v| v["value"].clone()),
        Some(json!("180")),
        "the profile's refined value"
    );
    assert_eq!(
        template["engine"]["datastream"],
        listed["contents"]["digest"]
    );
    let base_rules = profiles
        .iter()
        .find(|(id, _)| id == PROFILE_BASE)
        .unwrap()
        .1;
    assert_eq!(template["check_count"].as_u64(), Some(base_rules));

    let detail = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/templates/{tid}"),
            user,
            None,
        )
        .await;
    for check in detail["checks"].as_array().unwrap() {
        assert_eq!(check["probe"]["kind"], "xccdf_rule", "{check}");
        assert_eq!(check["probe"]["rule"], check["id"]);
        assert!(
            check["id"].as_str().unwrap().starts_with("xccdf_"),
            "{check}"
        );
    }
    // Another organization does not see it; importing the same file again is a second
    // template over the one stored file.
    let hidden = app
        .call(
            "GET",
            &format!("/api/v1/compliance/templates/{tid}"),
            &app.b_token,
            None,
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let again = import(&app, user, &query, fixture("small-ds.xml")).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(custom_templates(&app).await, 2);
}

#[tokio::test]
async fn only_content_for_the_hosts_system_is_offered_and_scanned() {
    let app = TestApp::new().await;
    let user = app.token("user");
    let rhel = app
        .state
        .store
        .create_host(&bulwark_store::NewHost {
            org_id: app.a.id.clone(),
            hostname: "db-rhel".into(),
            os_kind: bulwark_core::OsKind::Linux,
            os_id: "rhel".into(),
            os_version: "9.3".into(),
        })
        .await
        .unwrap();
    // arf-source-ds.xml names no platform; small-ds.xml targets Ubuntu 22.04 and Debian 12.
    let all = "xccdf_com.example.bulwark_profile_all";
    let any = import(
        &app,
        user,
        &format!("?profile={all}&org_id={}", app.a.id),
        fixture("arf-source-ds.xml"),
    )
    .await;
    assert_eq!(any.status, StatusCode::OK, "{}", any.text);
    let any_id = any.json()["template"]["id"].as_str().unwrap().to_owned();
    let base = import(
        &app,
        user,
        &format!("?profile={PROFILE_BASE}&org_id={}", app.a.id),
        fixture("small-ds.xml"),
    )
    .await;
    assert_eq!(
        base.json()["contents"]["benchmarks"][0]["fits"],
        json!(["ubuntu 22.04", "debian 12"])
    );
    let base_id = base.json()["template"]["id"].as_str().unwrap().to_owned();

    let offered = |host: String| {
        let app = &app;
        async move {
            app.ok(
                "GET",
                &format!("/api/v1/compliance/templates?host_id={host}"),
                user,
                None,
            )
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect::<Vec<String>>()
        }
    };
    let for_debian = offered(app.host_a.id.clone()).await;
    let for_rhel = offered(rhel.id.clone()).await;
    assert!(
        for_debian.contains(&base_id) && !for_rhel.contains(&base_id),
        "{for_debian:?} {for_rhel:?}"
    );
    assert!(
        for_debian.contains(&any_id) && for_rhel.contains(&any_id),
        "no platform fits any"
    );
    assert!(for_rhel.contains(&"cis-linux-l1".to_owned()));
    assert!(
        !for_rhel.iter().any(|t| t.contains("windows")),
        "{for_rhel:?}"
    );
    let other = app
        .call(
            "GET",
            &format!("/api/v1/compliance/templates?host_id={}", app.host_b.id),
            user,
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);

    let policy = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({"name": "SCAP", "org_id": app.a.id,
            "os_type": "linux", "template_id": base_id, "scan_interval_hours": 24})),
        )
        .await;
    let refused = app
        .call(
            "POST",
            "/api/v1/compliance/scans",
            user,
            Some(json!({"policy_id": policy["id"], "host_id": rhel.id})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(
        refused.text.contains("ubuntu_linux:22.04") && refused.text.contains("runs rhel 9.3"),
        "{}",
        refused.text
    );
    trigger(&app, policy["id"].as_str().unwrap(), &app.host_a.id).await;
}

/// A request that must be refused: name, query, file, status, the field named, words said.
type BadImport = (
    &'static str,
    String,
    Vec<u8>,
    StatusCode,
    &'static str,
    &'static str,
);

#[tokio::test]
async fn bad_files_and_bad_requests_say_what_and_where_and_store_nothing() {
    let app = TestApp::new().await;
    let user = app.token("user");
    let with_profile = format!("?profile={PROFILE_BASE}&org_id={}", app.a.id);
    let cases: Vec<BadImport> = vec![
        (
            "dtd",
            with_profile.clone(),
            fixture("dtd.xml"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
            "DTDs are refused (line",
        ),
        (
            "bomb",
            with_profile.clone(),
            fixture("billion-laughs.xml"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
            "DTDs are refused",
        ),
        (
            "entity",
            with_profile.clone(),
            fixture("undeclared-entity.xml"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
            "is refused (line",
        ),
        (
            "not a data stream",
            with_profile.clone(),
            fixture("not-a-datastream.xml"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
            "not an SCAP source data stream",
        ),
        (
            "malformed",
            with_profile.clone(),
            fixture("malformed.xml"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
            "(line 10)",
        ),
        (
            "unknown profile",
            format!("?profile=nope&org_id={}", app.a.id),
            fixture("small-ds.xml"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "profile",
            PROFILE_BASE,
        ),
        (
            "no organization",
            format!("?profile={PROFILE_BASE}"),
            fixture("small-ds.xml"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "org_id",
            "required",
        ),
        (
            "odd file name",
            format!("{with_profile}&file_name=../x.xml"),
            fixture("small-ds.xml"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "file_name",
            "letters",
        ),
        (
            "another tenant",
            format!("?profile={PROFILE_BASE}&org_id={}", app.b.id),
            fixture("small-ds.xml"),
            StatusCode::NOT_FOUND,
            "",
            "organization",
        ),
    ];
    for (name, query, xml, status, field, says) in cases {
        let r = import(&app, user, &query, xml).await;
        assert_eq!(r.status, status, "{name}: {}", r.text);
        if !field.is_empty() {
            assert_eq!(r.field().as_deref(), Some(field), "{name}: {}", r.text);
        }
        assert!(r.text.contains(says), "{name}: {}", r.text);
    }
    let viewer = import(
        &app,
        app.token("viewer"),
        &with_profile,
        fixture("small-ds.xml"),
    )
    .await;
    assert_eq!(viewer.status, StatusCode::FORBIDDEN);
    assert_eq!(custom_templates(&app).await, 0, "nothing was stored");
}

#[tokio::test]
async fn a_completed_scan_has_html_json_and_arf_reports() {
    let app = TestApp::new().await;
    let user = app.token("user");
    let policy = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({"name": "L1", "org_id": app.a.id, "os_type": "linux",
                        "template_id": "cis-linux-l1", "scan_interval_hours": 24})),
        )
        .await;
    let scan = trigger(&app, policy["id"].as_str().unwrap(), &app.host_a.id).await;
    let report = |format: &str| format!("/api/v1/compliance/scans/{scan}/report?format={format}");
    let early = app.call("GET", &report("html"), user, None).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text);

    let checks: Vec<Value> = app
        .ok(
            "GET",
            "/api/v1/compliance/templates/cis-linux-l1",
            user,
            None,
        )
        .await["checks"]
        .as_array()
        .unwrap()
        .clone();
    let results: Vec<AgentResult> = checks
        .iter()
        .filter(|c| c["enabled"] == true)
        .enumerate()
        .map(|(i, c)| AgentResult {
            check_id: c["id"].as_str().unwrap().to_owned(),
            outcome: CheckOutcome::judged(i % 4 != 0, Some(format!("<seen {i}>")), "wanted"),
        })
        .collect();
    ingest::submit(&app.state, &scan, results).await.unwrap();
    let first_failed = checks.iter().find(|c| c["enabled"] == true).unwrap();

    let html = app.call("GET", &report("html"), user, None).await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(
        html.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.text.contains(app.host_a.hostname.as_str()));
    assert!(html.text.contains(first_failed["title"].as_str().unwrap()));
    assert!(html.text.contains("seen 0"), "the actual value is shown");
    assert!(!html.text.contains("<seen 0>"), "and escaped");

    let json = app.call("GET", &report("json"), user, None).await;
    assert_eq!(json.status, StatusCode::OK);
    let json = json.json();
    let finding = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check_id"] == first_failed["id"])
        .unwrap()
        .clone();
    assert_eq!(finding["status"], "fail");
    assert_eq!(finding["rationale"], first_failed["rationale"]);
    assert_eq!(finding["remediation"], first_failed["remediation"]["text"]);

    let arf = app.call("GET", &report("arf"), user, None).await;
    assert_eq!(arf.status, StatusCode::OK);
    assert!(arf.text.contains("asset-report-collection"));
    assert!(
        arf.text.contains("<xccdf:result>fail</xccdf:result>"),
        "{}",
        &arf.text[..500]
    );

    let other = app.call("GET", &report("html"), &app.b_token, None).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let bad = app.call("GET", &report("pdf"), user, None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.field().as_deref(), Some("format"));
}
