//! End-to-end flows through the API and ingest: a policy to a scored scan, exceptions that
//! apply from the next scan, retried submissions, notifications, exports, the scheduler, and
//! two replicas sharing one PostgreSQL database.

mod common;

use axum::http::StatusCode;
use bulwark_core::CheckOutcome;
use bulwark_server::ingest::{self, AgentResult};
use bulwark_server::{AppState, ServerConfig, scheduler};
use bulwark_store::{Completion, Scope};
use common::{TestApp, agent_results, new_host, trigger};
use serde_json::{Value, json};

const L1: &str = "cis-linux-l1";

/// A custom copy of CIS Linux Level 1 in organization A: its id and its check ids in order.
async fn copy_of_l1(app: &TestApp, name: &str) -> (String, Vec<String>) {
    let user = app.token("user");
    let copy = app
        .ok(
            "POST",
            &format!("/api/v1/compliance/templates/{L1}/copy"),
            user,
            Some(json!({ "name": name })),
        )
        .await;
    let tid = copy["id"].as_str().unwrap().to_owned();
    let checks = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/templates/{tid}"),
            user,
            None,
        )
        .await;
    let ids = checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    (tid, ids)
}

#[tokio::test]
async fn policy_to_scored_scan_with_exceptions_notifications_and_export() {
    let app = TestApp::new().await;
    let user = app.token("user");
    // Keep the template small so that score arithmetic is easy to follow: 10 enabled checks.
    let (tid, ids) = copy_of_l1(&app, "Ten checks").await;
    let toggle = |ids: &[String], enabled: bool| json!({"check_ids": ids, "enabled": enabled});
    let path = format!("/api/v1/compliance/templates/{tid}/checks/bulk-toggle");
    app.ok("POST", &path, user, Some(toggle(&ids, false))).await;
    let toggled = app
        .ok("POST", &path, user, Some(toggle(&ids[..10], true)))
        .await;
    assert_eq!(toggled["changed"], 10);
    let policy = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({
                "name": "Linux", "os_type": "linux", "template_id": tid, "scan_interval_hours": 24
            })),
        )
        .await;
    let pid = policy["id"].as_str().unwrap().to_owned();

    // On-demand scans need a host of the policy's organization and OS, online or in maintenance.
    let windows = common::new_windows_host(&app.state.store, &app.a, "win-1").await;
    let resting = new_host(&app.state.store, &app.a, "resting").await;
    app.state
        .store
        .set_maintenance(&Scope::All, &resting.id, true)
        .await
        .unwrap();
    let r = app
        .call(
            "POST",
            "/api/v1/compliance/scans",
            user,
            Some(json!({"policy_id": pid, "host_id": resting.id})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a host in maintenance: {}",
        r.text
    );
    for (host, why) in [
        (windows.id.as_str(), "runs windows, which policy"),
        (app.host_b.id.as_str(), ""),
    ] {
        let r = app
            .call(
                "POST",
                "/api/v1/compliance/scans",
                user,
                Some(json!({"policy_id": pid, "host_id": host})),
            )
            .await;
        if why.is_empty() {
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "another organization's host: {}",
                r.text
            );
        } else {
            assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
            assert!(r.text.contains(why), "{}", r.text);
        }
    }

    // An on-demand scan may name any active template that fits the host, with or without a
    // policy; it is stored like any other scan.
    let cases = [
        (
            json!({"host_id": resting.id, "template_id": "cis-linux-l2"}),
            StatusCode::OK,
            None,
        ),
        (
            json!({"host_id": resting.id, "policy_id": pid, "template_id": "cis-linux-l2"}),
            StatusCode::OK,
            None,
        ),
        (
            json!({"host_id": resting.id, "template_id": "cis-windows-server-l1"}),
            StatusCode::CONFLICT,
            None,
        ),
        (
            json!({"host_id": resting.id, "template_id": "no-such"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("template_id"),
        ),
        (
            json!({"host_id": resting.id}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("policy_id"),
        ),
    ];
    for (body, status, field) in cases {
        let r = app
            .call("POST", "/api/v1/compliance/scans", user, Some(body.clone()))
            .await;
        assert_eq!(
            (r.status, r.field().as_deref()),
            (status, field),
            "{body}: {}",
            r.text
        );
        if status == StatusCode::OK {
            let scan = r.json();
            assert_eq!(scan["template_id"], "cis-linux-l2", "{scan}");
            assert_eq!(scan["policy_id"], body["policy_id"], "{scan}");
            assert_eq!(scan["passing_threshold"], 80.0);
        }
    }

    // First scan: 6 of 10 fail → 40%, a critical notification.
    let first = trigger(&app, &pid, &app.host_a.id).await;
    let results = agent_results(&app, &tid, 6).await;
    assert_eq!(results.len(), 10);
    assert_eq!(
        ingest::submit(&app.state, &first, results.clone())
            .await
            .unwrap(),
        Completion::Completed
    );
    assert_eq!(
        ingest::submit(&app.state, &first, results.clone())
            .await
            .unwrap(),
        Completion::AlreadyFinished
    );
    let scan = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{first}"),
            user,
            None,
        )
        .await;
    assert_eq!(
        (
            scan["status"].as_str(),
            scan["score"].as_f64(),
            scan["failed"].as_i64()
        ),
        (Some("completed"), Some(40.0), Some(6))
    );
    let failed = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{first}/results?status=fail"),
            user,
            None,
        )
        .await;
    assert_eq!(failed.as_array().unwrap().len(), 6);
    let first_check = failed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["check_id"] == results[0].check_id)
        .unwrap_or_else(|| panic!("the first check failed: {failed}"));
    assert_eq!(
        first_check["actual"], "value 0",
        "the actual value the agent saw is kept"
    );
    let notes = app.ok("GET", "/api/v1/notifications", user, None).await;
    assert_eq!(
        notes.as_array().unwrap().len(),
        1,
        "one notification even though the result was sent twice"
    );
    assert_eq!(notes[0]["level"], "critical");

    // Waive two of the failures: one for the host, one organization-wide; they apply from the
    // next scan, which then scores 4 of 8 evaluable = 50% (warning).
    for body in [
        json!({"rule_id": ids[0], "reason": "legacy app needs it", "host_id": app.host_a.id}),
        json!({"rule_id": ids[1], "reason": "accepted risk"}),
    ] {
        app.ok("POST", "/api/v1/compliance/exceptions", user, Some(body))
            .await;
    }
    let still = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{first}"),
            user,
            None,
        )
        .await;
    assert_eq!(
        still["score"].as_f64(),
        Some(40.0),
        "a finished scan keeps its score"
    );
    let second = trigger(&app, &pid, &app.host_a.id).await;
    ingest::submit(&app.state, &second, agent_results(&app, &tid, 6).await)
        .await
        .unwrap();
    let scan = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{second}"),
            user,
            None,
        )
        .await;
    assert_eq!(
        (
            scan["score"].as_f64(),
            scan["waived"].as_i64(),
            scan["failed"].as_i64()
        ),
        (Some(50.0), Some(2), Some(4))
    );
    let waived = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{second}/results?status=waived"),
            user,
            None,
        )
        .await;
    assert!(
        waived[0]["reason"].as_str().unwrap().contains("exception"),
        "{waived}"
    );
    let notes = app.ok("GET", "/api/v1/notifications", user, None).await;
    let mut levels: Vec<&str> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["level"].as_str().unwrap())
        .collect();
    levels.sort();
    assert_eq!(levels, vec!["critical", "warning"]);

    // Dashboard, trends and the second seed's per-host endpoints agree.
    let d = app
        .ok("GET", "/api/v1/compliance/dashboard", user, None)
        .await;
    assert_eq!(
        (
            d["total_scans"].as_i64(),
            d["hosts_scanned"].as_i64(),
            d["average_score"].as_f64()
        ),
        (Some(2), Some(1), Some(45.0))
    );
    assert_eq!(d["worst_hosts"][0]["score"].as_f64(), Some(50.0));
    let t = app
        .ok("GET", "/api/v1/compliance/trends?days=7", user, None)
        .await;
    assert_eq!(
        (
            t["total_scans"].as_i64(),
            t["daily"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    let score = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/score/agent/{}", app.host_a.id),
            user,
            None,
        )
        .await;
    assert_eq!(
        (score["score"].as_f64(), score["passing"].as_bool()),
        (Some(50.0), Some(false))
    );
    let hist = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/history/agent/{}", app.host_a.id),
            user,
            None,
        )
        .await;
    assert_eq!(hist["history"].as_array().unwrap().len(), 2);
    let b_view = app
        .call(
            "GET",
            &format!("/api/v1/compliance/score/agent/{}", app.host_a.id),
            &app.b_token,
            None,
        )
        .await;
    assert_eq!(b_view.status, StatusCode::NOT_FOUND);
    let b_dash = app
        .ok("GET", "/api/v1/compliance/dashboard", &app.b_token, None)
        .await;
    assert_eq!(b_dash["total_scans"], 0, "another tenant sees none of it");

    // Cancelled and pending scans are not exported; CSV cells cannot start a formula.
    let evil = new_host(&app.state.store, &app.a, "=HYPERLINK(\"http://x\")").await;
    let third = trigger(&app, &pid, &evil.id).await;
    ingest::submit(&app.state, &third, agent_results(&app, &tid, 0).await)
        .await
        .unwrap();
    let pending = trigger(&app, &pid, &app.host_a.id).await;
    let csv = app
        .call("GET", "/api/v1/compliance/export?format=csv", user, None)
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines[0],
        "scan_id,host,template,framework,os_type,score,passed,failed,error,skipped,waived,total,scan_date"
    );
    assert_eq!(
        lines.len(),
        4,
        "header and three completed scans: {}",
        csv.text
    );
    assert!(csv.text.contains("'=HYPERLINK"), "{}", csv.text);
    assert!(!csv.text.contains(&pending));
    let nd = app
        .call(
            "GET",
            &format!(
                "/api/v1/compliance/export?format=ndjson&host_id={}&limit=1",
                app.host_a.id
            ),
            user,
            None,
        )
        .await;
    let rows: Vec<Value> = nd
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert!(
        [first.as_str(), second.as_str()].contains(&rows[0]["scan_id"].as_str().unwrap()),
        "only that host's scans"
    );
    assert_eq!(rows[0]["host"], "web-a");
    for limit in ["0", "100001"] {
        let r = app
            .call(
                "GET",
                &format!("/api/v1/compliance/export?limit={limit}"),
                user,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    // Cancel, and a revoked exception no longer applies.
    app.ok(
        "POST",
        &format!("/api/v1/compliance/scans/{pending}/cancel"),
        user,
        None,
    )
    .await;
    let r = app
        .call(
            "POST",
            &format!("/api/v1/compliance/scans/{pending}/cancel"),
            user,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let list = app
        .ok(
            "GET",
            "/api/v1/compliance/scans?status=cancelled",
            user,
            None,
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let by_prefix = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans?q={}", &first[..8]),
            user,
            None,
        )
        .await;
    assert_eq!(by_prefix[0]["id"], first.as_str());
}

#[tokio::test]
async fn server_evaluated_checks_use_the_inventory() {
    let app = TestApp::new().await;
    let user = app.token("user");
    let (tid, all) = copy_of_l1(&app, "Inventory").await;
    app.ok(
        "POST",
        &format!("/api/v1/compliance/templates/{tid}/checks/bulk-toggle"),
        user,
        Some(json!({"check_ids": all, "enabled": false})),
    )
    .await;
    let check = |id: &str, probe: Value| {
        json!({
            "id": id, "title": id, "category": "Services", "severity": "high", "description": "d", "rationale": "r",
            "remediation": {"text": "fix"}, "probe": probe,
        })
    };
    for (id, probe) in [
        (
            "SRV-1",
            json!({"kind": "software_installed", "name": "openssh*"}),
        ),
        (
            "SRV-2",
            json!({"kind": "service_running", "name": "AUDITD"}),
        ),
        (
            "SRV-3",
            json!({"kind": "software_installed", "name": "telnetd"}),
        ),
    ] {
        app.ok(
            "POST",
            &format!("/api/v1/compliance/templates/{tid}/checks"),
            user,
            Some(check(id, probe)),
        )
        .await;
    }
    let bad = app
        .call(
            "POST",
            &format!("/api/v1/compliance/templates/{tid}/checks"),
            user,
            Some(check(
                "SRV-4",
                json!({"kind": "software_installed", "name": " "}),
            )),
        )
        .await;
    assert_eq!(
        (bad.status, bad.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("check"))
    );
    let store = &app.state.store;
    store
        .store_inventory(
            &app.host_a.id,
            &[
                (
                    "software".into(),
                    "h1".into(),
                    json!([{"name": "OpenSSH-Server", "version": "9.2"}]),
                ),
                (
                    "services".into(),
                    "h2".into(),
                    json!([{"name": "auditd", "state": "running"}]),
                ),
            ],
        )
        .await
        .unwrap();
    let policy = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({"name": "p", "os_type": "linux", "template_id": tid})),
        )
        .await;
    let scan = trigger(&app, policy["id"].as_str().unwrap(), &app.host_a.id).await;
    // The agent skips these kinds; whatever it sends is replaced by the server's evaluation.
    let sent = ["SRV-1", "SRV-2", "SRV-3"]
        .iter()
        .map(|id| AgentResult {
            check_id: id.to_string(),
            outcome: CheckOutcome::skip("x", "evaluated by the server from the host inventory"),
        })
        .collect();
    ingest::submit(&app.state, &scan, sent).await.unwrap();
    let results = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/scans/{scan}/results"),
            user,
            None,
        )
        .await;
    let got: Vec<(String, String, String)> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["check_id"].as_str().unwrap().into(),
                r["status"].as_str().unwrap().into(),
                r["actual"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("SRV-3".into(), "fail".into(), "not installed".into()),
            ("SRV-1".into(), "pass".into(), "OpenSSH-Server 9.2".into()),
            ("SRV-2".into(), "pass".into(), "running".into()),
        ]
    );

    // Results can be narrowed by severity and searched by check id or title.
    let severity_of_srv3 = results[0]["severity"].as_str().unwrap().to_owned();
    for (query, want) in [
        ("q=srv-2".to_owned(), vec!["SRV-2"]),
        ("q=SRV&status=pass".to_owned(), vec!["SRV-1", "SRV-2"]),
        (format!("severity={severity_of_srv3}&q=3"), vec!["SRV-3"]),
        ("q=nothing-like-this".to_owned(), vec![]),
    ] {
        let found = app
            .ok(
                "GET",
                &format!("/api/v1/compliance/scans/{scan}/results?{query}"),
                user,
                None,
            )
            .await;
        let ids: Vec<&str> = found
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["check_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, want, "{query}");
    }
    let r = app
        .call(
            "GET",
            &format!("/api/v1/compliance/scans/{scan}/results?severity=urgent"),
            user,
            None,
        )
        .await;
    assert_eq!(r.field().as_deref(), Some("severity"), "{}", r.text);
}

#[tokio::test]
async fn scheduler_creates_due_scans_once_and_honours_overrides() {
    let app = TestApp::new().await;
    let user = app.token("user");
    let copy = app
        .ok(
            "POST",
            &format!("/api/v1/compliance/templates/{L1}/copy"),
            user,
            Some(json!({"name": "Strict"})),
        )
        .await;
    let policy = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({"name": "p", "os_type": "linux", "template_id": L1})),
        )
        .await;
    let pid = policy["id"].as_str().unwrap();
    let second = new_host(&app.state.store, &app.a, "db-a").await;
    app.ok(
        "POST",
        &format!("/api/v1/compliance/policies/{pid}/overrides"),
        user,
        Some(json!({"host_id": second.id, "template_id": copy["id"]})),
    )
    .await;
    let soon = bulwark_store::now() + 3600;
    let x = app
        .ok(
            "POST",
            "/api/v1/compliance/exceptions",
            user,
            Some(json!({"rule_id": "CIS-1.1.1.1", "reason": "r", "expires_at": soon})),
        )
        .await;

    let report = scheduler::tick(&app.state)
        .await
        .unwrap()
        .expect("the only replica holds the lease");
    assert_eq!(
        report.scans_created, 2,
        "both online hosts of org A; host B has no policy"
    );
    let again = scheduler::tick(&app.state).await.unwrap().unwrap();
    assert_eq!(again.scans_created, 0, "pending scans are not doubled");
    let scans = app
        .ok("GET", "/api/v1/compliance/scans?status=pending", user, None)
        .await;
    let mut templates: Vec<(String, String)> = scans
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["hostname"].as_str().unwrap().into(),
                s["template_id"].as_str().unwrap().into(),
            )
        })
        .collect();
    templates.sort();
    assert_eq!(
        templates,
        vec![
            ("db-a".into(), copy["id"].as_str().unwrap().into()),
            ("web-a".into(), L1.into())
        ]
    );
    assert!(scans[0]["trigger_kind"] == "scheduled");

    // The expiry sweep runs with the tick.
    let swept = scheduler::tick_at(&app.state, soon).await.unwrap().unwrap();
    assert_eq!(swept.exceptions_expired, 1);
    let xs = app
        .ok(
            "GET",
            &format!(
                "/api/v1/compliance/exceptions/{}",
                x["id"].as_str().unwrap()
            ),
            user,
            None,
        )
        .await;
    assert_eq!(xs["state"], "expired");

    // A manual policy is never scheduled.
    app.ok(
        "PUT",
        &format!("/api/v1/compliance/policies/{pid}"),
        user,
        Some(json!({"schedule_type": "manual"})),
    )
    .await;
    for s in scans.as_array().unwrap() {
        app.ok(
            "POST",
            &format!(
                "/api/v1/compliance/scans/{}/cancel",
                s["id"].as_str().unwrap()
            ),
            user,
            None,
        )
        .await;
    }
    assert_eq!(
        scheduler::tick(&app.state)
            .await
            .unwrap()
            .unwrap()
            .scans_created,
        0
    );
}

/// The pending scans, and for each its host name, template and policy, sorted.
async fn pending(app: &TestApp) -> (Value, Vec<(String, String, String)>) {
    let scans = app
        .ok(
            "GET",
            "/api/v1/compliance/scans?status=pending",
            app.token("user"),
            None,
        )
        .await;
    let mut seen: Vec<(String, String, String)> = scans
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["hostname"].as_str().unwrap().into(),
                s["template_id"].as_str().unwrap().into(),
                s["policy_id"].as_str().unwrap().into(),
            )
        })
        .collect();
    seen.sort();
    (scans, seen)
}

/// A policy for `all` OS types judges each host that no policy of its own OS type covers,
/// with the shipped template of its level for that host's OS; a policy of the host's own OS
/// type takes the host over.
#[tokio::test]
async fn a_policy_for_every_os_type_covers_those_without_their_own() {
    let app = TestApp::new().await;
    let user = app.token("user");
    let everything = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({"name": "Everything", "target_os": "all", "cis_level": "level_1"})),
        )
        .await;
    assert_eq!(
        (
            everything["os_kind"].as_str(),
            everything["template_id"].as_str(),
            everything["cis_level"].as_str()
        ),
        (Some("all"), None, Some("level_1"))
    );
    let all_id = everything["id"].as_str().unwrap();
    let windows = common::new_windows_host(&app.state.store, &app.a, "win-a").await;

    let report = scheduler::tick(&app.state).await.unwrap().unwrap();
    assert_eq!(report.scans_created, 2);
    let (scans, seen) = pending(&app).await;
    assert_eq!(
        seen,
        [
            ("web-a".into(), L1.into(), all_id.into()),
            (
                "win-a".into(),
                "cis-windows-server-l1".into(),
                all_id.into()
            ),
        ]
    );
    for s in scans.as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        app.ok(
            "POST",
            &format!("/api/v1/compliance/scans/{id}/cancel"),
            user,
            None,
        )
        .await;
    }

    // Linux gets a policy of its own: the policy for all keeps only Windows.
    let linux = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({"name": "Linux", "os_type": "linux", "template_id": "cis-linux-l2"})),
        )
        .await;
    let linux_id = linux["id"].as_str().unwrap();
    let report = scheduler::tick(&app.state).await.unwrap().unwrap();
    assert_eq!(report.scans_created, 2);
    let (_, seen) = pending(&app).await;
    assert_eq!(
        seen,
        [
            ("web-a".into(), "cis-linux-l2".into(), linux_id.into()),
            (
                "win-a".into(),
                "cis-windows-server-l1".into(),
                all_id.into()
            ),
        ]
    );
    let web = app.ok("GET", "/api/v1/hosts?q=web-a", user, None).await;
    let web_id = web[0]["id"].as_str().unwrap();
    let refused = app
        .call(
            "POST",
            "/api/v1/compliance/scans",
            user,
            Some(json!({"host_id": web_id, "policy_id": all_id})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert!(
        refused.text.contains("policy Linux covers it"),
        "{}",
        refused.text
    );
    let _ = windows;

    // What a policy for all may and may not say.
    for (body, field, status) in [
        (
            json!({"name": "t", "target_os": "all", "cis_level": "level_2", "template_id": L1}),
            "template_id",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"name": "t", "os_type": "all"}),
            "cis_level",
            StatusCode::UNPROCESSABLE_ENTITY,
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
            (status, Some(field)),
            "{body}: {}",
            r.text
        );
    }
    let second = app
        .call(
            "POST",
            "/api/v1/compliance/policies",
            user,
            Some(json!({"name": "Again", "os_type": "all", "cis_level": "level_2"})),
        )
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{}", second.text);
    assert!(second.text.contains("every OS type"), "{}", second.text);

    // Moving the Linux policy to all is refused (one policy for all per organization); moving
    // the policy for all to darwin drops its level and needs a template.
    let moved = app
        .call(
            "PUT",
            &format!("/api/v1/compliance/policies/{all_id}"),
            user,
            Some(json!({"os_type": "darwin"})),
        )
        .await;
    assert_eq!(
        (moved.status, moved.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("template_id")),
        "{}",
        moved.text
    );
}

/// Two replicas starting together on an empty PostgreSQL database both seed the system
/// templates; neither fails, and each template is there once with all its checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_seed_an_empty_database_at_once() {
    let (db1, db2) = bulwark_store::testing::postgres_pair()
        .await
        .expect("PostgreSQL for the replica test");
    let (one, two) = (bulwark_store::from_db(db1), bulwark_store::from_db(db2));
    let (a, b) = tokio::join!(
        bulwark_server::seed::system_templates(one.as_ref()),
        bulwark_server::seed::system_templates(two.as_ref())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let shipped = bulwark_content::shipped_templates().unwrap();
    assert_eq!(
        a.updated.len() + b.updated.len(),
        shipped.len(),
        "each template written once: {a:?} {b:?}"
    );
    for t in &shipped {
        let checks = one.template_checks(&Scope::All, &t.id).await.unwrap();
        assert_eq!(checks.len(), t.checks.len(), "{}", t.id);
    }
}

/// Two server replicas, each with its own connection pool, on one PostgreSQL database: in
/// every round both tick at once, exactly one does the work, and no host gets two scans.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_postgres_tick_once() {
    let (db1, db2) = bulwark_store::testing::postgres_pair()
        .await
        .expect("PostgreSQL for the replica test");
    let app = TestApp::on(bulwark_store::from_db(db1), tempfile::tempdir().unwrap()).await;
    let user = app.token("user");
    for i in 0..5 {
        new_host(&app.state.store, &app.a, &format!("extra-{i}")).await;
    }
    app.ok(
        "POST",
        "/api/v1/compliance/policies",
        user,
        Some(json!({"name": "p", "os_type": "linux", "template_id": L1})),
    )
    .await;
    let replica = |store, id: &str| {
        AppState::new(
            store,
            ServerConfig {
                replica_id: id.into(),
                ..Default::default()
            },
        )
    };
    let one = replica(app.state.store.clone(), "replica-1");
    let two = replica(bulwark_store::from_db(db2), "replica-2");
    let mut workers = std::collections::BTreeSet::new();
    let mut created = 0;
    for _ in 0..5 {
        let (a, b) = tokio::join!(scheduler::tick(&one), scheduler::tick(&two));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(
            a.is_some() != b.is_some(),
            "exactly one replica ticks: {a:?} {b:?}"
        );
        workers.insert(if a.is_some() {
            "replica-1"
        } else {
            "replica-2"
        });
        created += a.or(b).unwrap().scans_created;
    }
    assert_eq!(
        workers.len(),
        1,
        "the lease stays with one replica while it renews"
    );
    assert_eq!(created, 6, "six online linux hosts in org A, one scan each");
    let pending = app
        .ok(
            "GET",
            "/api/v1/compliance/scans?status=pending&limit=100",
            user,
            None,
        )
        .await;
    let mut hosts: Vec<&str> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["host_id"].as_str().unwrap())
        .collect();
    hosts.sort();
    hosts.dedup();
    assert_eq!(hosts.len(), 6);
}

#[tokio::test]
async fn low_scores_reach_webhooks_signed_and_failures_are_retried_a_bounded_number_of_times() {
    use axum::extract::State as AxState;
    use axum::http::HeaderMap;
    use std::sync::{Arc, Mutex};
    type Seen = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;
    async fn receive(
        AxState(seen): AxState<Seen>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        seen.lock().unwrap().push((headers, body.to_vec()));
        StatusCode::NO_CONTENT
    }
    async fn refuse(
        AxState(seen): AxState<Seen>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> StatusCode {
        seen.lock().unwrap().push((headers, body.to_vec()));
        StatusCode::INTERNAL_SERVER_ERROR
    }
    let (ok_seen, bad_seen): (Seen, Seen) = Default::default();
    let receiver = axum::Router::new()
        .route(
            "/ok",
            axum::routing::post(receive).with_state(ok_seen.clone()),
        )
        .route(
            "/bad",
            axum::routing::post(refuse).with_state(bad_seen.clone()),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let app = TestApp::new().await;
    let admin = app.token("admin");
    let hook = app
        .ok(
            "POST",
            &format!("/api/v1/orgs/{}/webhooks", app.a.id),
            admin,
            Some(json!({"url": format!("http://{addr}/ok")})),
        )
        .await;
    let secret = hook["signing_secret"].as_str().unwrap().to_owned();
    assert!(
        hook["webhook"].get("secret").is_none(),
        "the secret is shown once, as signing_secret"
    );
    let r = app
        .call(
            "POST",
            &format!("/api/v1/orgs/{}/webhooks", app.a.id),
            admin,
            Some(json!({"url": "file:///etc/passwd"})),
        )
        .await;
    assert_eq!(
        (r.status, r.field().as_deref()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("url"))
    );

    let policy = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            app.token("user"),
            Some(json!({"name": "p", "os_type": "linux", "template_id": L1})),
        )
        .await;
    let scan = trigger(&app, policy["id"].as_str().unwrap(), &app.host_a.id).await;
    ingest::submit(&app.state, &scan, agent_results(&app, L1, 10_000).await)
        .await
        .unwrap();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while ok_seen.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let ok = ok_seen.lock().unwrap().clone();
    assert_eq!(ok.len(), 1, "delivered once");
    let (headers, body) = &ok[0];
    let ts: i64 = headers["x-bulwark-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        headers["x-bulwark-signature"].to_str().unwrap(),
        bulwark_server::notify::sign(&secret, ts, body)
    );
    let payload: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["notification"]["level"], "critical");
    assert_eq!(payload["notification"]["scan_id"], scan.as_str());

    // A receiver that refuses: delivery gives up after three attempts and reports it.
    let refusing = bulwark_store::Webhook {
        id: "w-bad".into(),
        org_id: app.a.id.clone(),
        url: format!("http://{addr}/bad"),
        secret: "s".into(),
        created_at: 0,
    };
    let notification = app
        .state
        .store
        .list_notifications(&bulwark_store::Scope::All, 1)
        .await
        .unwrap()
        .remove(0);
    let outcome = bulwark_server::notify::deliver(
        &app.state.http,
        &refusing,
        "compliance.score_low",
        &notification,
    )
    .await;
    assert_eq!(outcome, (3, false));
    assert_eq!(
        bad_seen.lock().unwrap().len(),
        3,
        "a refusing receiver gets exactly three attempts"
    );
}

/// An installation that does not allow private networks refuses a webhook aimed inward when
/// it is configured, however the address is written, and at delivery time too: a name that
/// resolves to loopback is never connected to, and a redirect is not followed.
#[tokio::test]
async fn webhooks_cannot_reach_the_servers_own_network() {
    let app = TestApp::new().await;
    let strict = bulwark_server::AppState::new(app.state.store.clone(), ServerConfig::default());
    let strict_router = bulwark_server::app(strict.clone());
    let admin = app.token("admin");
    for url in [
        "http://127.0.0.1:9/hook",
        "http://2130706433/hook",
        "http://[::ffff:7f00:1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/",
        "https://someone:secret@hooks.example.com/",
    ] {
        let req = axum::http::Request::post(format!("/api/v1/orgs/{}/webhooks", app.a.id))
            .header("authorization", format!("Bearer {admin}"))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(json!({ "url": url }).to_string()))
            .unwrap();
        let res = tower::ServiceExt::oneshot(strict_router.clone(), req)
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
    }

    // A receiver on loopback, reached by a name: the strict client never connects.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connected = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = connected.clone();
    tokio::spawn(async move {
        while let Ok((_stream, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let hook = bulwark_store::Webhook {
        id: "w".into(),
        org_id: app.a.id.clone(),
        url: format!("http://localhost:{port}/hook"),
        secret: "s".into(),
        created_at: 0,
    };
    let note = bulwark_store::Notification {
        id: "n".into(),
        org_id: app.a.id.clone(),
        host_id: None,
        scan_id: None,
        level: "critical".into(),
        message: "m".into(),
        created_at: 0,
    };
    let (attempts, delivered) =
        bulwark_server::notify::deliver(&strict.http, &hook, "compliance.score_low", &note).await;
    assert_eq!((attempts, delivered), (3, false));
    assert_eq!(
        connected.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no connection to loopback"
    );
}
