//! The web UI through its HTTP surface: login, every page for every role, CSRF, the API's
//! permissions and validation on forms, tenant isolation, escaping and CSV neutralization.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bulwark_core::Role;
use bulwark_server::ingest::{self, AgentResult};
use common::{Reply, TestApp, agent_results, new_host, trigger};
use serde_json::json;

/// A browser session of one of the test app's users (their token doubles as the cookie:
/// the UI looks credentials up exactly as the API does).
struct Browser<'a> {
    app: &'a TestApp,
    cookie: String,
}

impl<'a> Browser<'a> {
    fn of(app: &'a TestApp, token: &str) -> Self {
        Browser {
            app,
            cookie: format!("bulwark_session={token}"),
        }
    }

    async fn get(&self, path: &str) -> Reply {
        let req = Request::get(path)
            .header("cookie", &self.cookie)
            .body(Body::empty())
            .unwrap();
        self.app.dispatch(req).await
    }

    /// The CSRF token a page hands to htmx.
    async fn csrf(&self) -> String {
        let page = self.get("/").await;
        let start = page
            .text
            .find("x-csrf-token\": \"")
            .expect("token on the page")
            + 16;
        page.text[start..start + 64].to_owned()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)], csrf: Option<&str>) -> Reply {
        let mut req = Request::post(path)
            .header("cookie", &self.cookie)
            .header("hx-request", "true")
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(t) = csrf {
            req = req.header("x-csrf-token", t);
        }
        let body = serde_urlencoded::to_string(form).unwrap();
        self.app.dispatch(req.body(Body::from(body)).unwrap()).await
    }

    async fn submit(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let token = self.csrf().await;
        self.post(path, form, Some(&token)).await
    }
}

/// A policy on CIS Level 1 in organization A, and one completed scan of host A with two
/// failures, one of which shows a formula as its actual value.
async fn world(app: &TestApp) -> (String, String) {
    let policy = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            app.token("user"),
            Some(json!({"name": "Linux <baseline>", "os_type": "linux", "template_id": "cis-linux-l1", "scan_interval_hours": 24})),
        )
        .await;
    let pid = policy["id"].as_str().unwrap().to_owned();
    let scan = trigger(app, &pid, &app.host_a.id).await;
    let mut results = agent_results(app, "cis-linux-l1", 2).await;
    results[0].outcome.actual = Some("=HYPERLINK(\"x\")".into());
    ingest::submit(&app.state, &scan, results).await.unwrap();
    (pid, scan)
}

#[tokio::test]
async fn pages_need_a_session_and_login_opens_one() {
    let app = TestApp::new().await;
    let anonymous = app
        .dispatch(
            Request::get("/hosts?status=online")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(
        anonymous.headers["location"],
        "/login?next=%2Fhosts%3Fstatus%3Donline"
    );
    // An API token in the Authorization header is for the API, not for pages.
    let bearer = app
        .dispatch(
            Request::get("/")
                .header("authorization", format!("Bearer {}", app.root))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(bearer.status, StatusCode::SEE_OTHER);

    let hash = bulwark_server::auth::hash_password("a long enough password").unwrap();
    app.state
        .store
        .create_user("alice", &hash, Role::Admin, None)
        .await
        .unwrap();
    let login = |password: &'static str, next: &'static str| {
        let body = serde_urlencoded::to_string([
            ("username", "alice"),
            ("password", password),
            ("next", next),
        ])
        .unwrap();
        Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let wrong = app.dispatch(login("nope", "/")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.text.contains("wrong user name or password"),
        "{}",
        wrong.text
    );
    // `next` never leads off the site.
    let ok = app
        .dispatch(login("a long enough password", "//evil.example"))
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    assert_eq!(ok.headers["location"], "/");
    // Browsers drop tabs and line breaks from addresses (`/\t/evil` becomes `//evil`), and a
    // line break could not be a header: each leads home. A NUL is refused at the edge.
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/a\r\nSet-Cookie: x=1",
        "/\\evil",
    ] {
        let r = app.dispatch(login("a long enough password", next)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.text);
        assert_eq!(r.headers["location"], "/", "{next:?}");
    }
    let nul = app.dispatch(login("a long enough password", "/a\0b")).await;
    assert_eq!(nul.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", nul.text);
    let cookie = ok.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let session = cookie.split(';').next().unwrap().to_owned();
    let page = app
        .dispatch(
            Request::get("/")
                .header("cookie", &session)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Compliance dashboard"));
}

#[tokio::test]
async fn every_page_renders_for_every_role_with_only_their_controls() {
    let app = TestApp::new().await;
    let (pid, scan) = world(&app).await;
    let host = app.host_a.id.clone();
    // A policy for every other OS type, so its pages and the host pages render it too.
    let everything = app
        .ok(
            "POST",
            "/api/v1/compliance/policies",
            app.token("user"),
            Some(serde_json::json!({"name": "Everything else", "os_type": "all", "cis_level": "level_1"})),
        )
        .await;
    let all = everything["id"].as_str().unwrap().to_owned();
    let mut pages = vec![
        format!("/policies/{all}"),
        format!("/policies/{all}?tab=overrides"),
        "/".to_owned(),
        "/hosts".into(),
        "/hosts?status=online&os_kind=linux".into(),
        "/policies".into(),
        format!("/policies/{pid}"),
        format!("/policies/{pid}?tab=overrides"),
        format!("/policies/{pid}?tab=scans"),
        "/templates".into(),
        "/templates?kind=custom".into(),
        "/templates/cis-linux-l1".into(),
        "/scans".into(),
        "/scans?status=completed&q=".into(),
        format!("/scans/{scan}"),
        format!("/scans/{scan}?status=fail"),
        "/exceptions".into(),
        "/export".into(),
        "/trends?days=90".into(),
        format!("/trends?days=7&policy_id={pid}"),
    ];
    for (tab, _) in bulwark_server::web::HOST_TABS {
        pages.push(format!("/hosts/{host}?tab={tab}"));
    }
    for role in ["viewer", "user", "provisioner", "admin"] {
        let browser = Browser::of(&app, app.token(role));
        for page in &pages {
            let r = browser.get(page).await;
            assert_eq!(r.status, StatusCode::OK, "{role} {page}: {}", r.text);
            assert!(r.text.contains("</html>"), "{role} {page}");
            // Edit controls only for those whose role may use them.
            let manages = role != "viewer";
            if page == "/policies" {
                assert_eq!(
                    r.text.contains("hx-post=\"/policies\""),
                    manages,
                    "{role} {page}"
                );
                assert!(
                    r.text
                        .contains("CIS level_1, the shipped template for each host"),
                    "{role} {page}: the policy for all says what judges its hosts"
                );
            }
        }
        let settings = browser.get("/settings").await;
        let admin = role == "admin";
        assert_eq!(
            settings.status == StatusCode::OK,
            admin,
            "{role}: {}",
            settings.status
        );
        assert_eq!(
            browser.get("/").await.text.contains("href=\"/settings\""),
            admin
        );
        // The provisioning gate: provisioners and admins see it; only admins its settings.
        let sees_gate = matches!(role, "provisioner" | "admin");
        for page in [
            "/provisioning",
            "/provisioning/results?status=&project=&blocked=",
        ] {
            let r = browser.get(page).await;
            assert_eq!(
                r.status == StatusCode::OK,
                sees_gate,
                "{role} {page}: {}",
                r.status
            );
        }
        assert_eq!(
            browser
                .get("/")
                .await
                .text
                .contains("href=\"/provisioning\""),
            sees_gate,
            "{role}: the navigation shows the gate to those who see it"
        );
        let gate_settings = browser.get("/provisioning/settings").await;
        assert_eq!(gate_settings.status == StatusCode::OK, admin, "{role}");
        if role == "provisioner" {
            let overview = browser.get("/provisioning").await.text;
            assert!(
                !overview.contains("href=\"/provisioning/settings\""),
                "no Settings tab"
            );
        }
    }
    // Someone who sees every organization picks whose gate settings to change.
    let root = Browser::of(&app, &app.root);
    let chooser = root.get("/provisioning/settings").await;
    assert_eq!(chooser.status, StatusCode::OK, "{}", chooser.text);
    for org in [&app.a, &app.b] {
        assert!(
            chooser
                .text
                .contains(&format!("/provisioning/settings?org_id={}", org.id))
        );
    }
    let of_b = root
        .get(&format!("/provisioning/settings?org_id={}", app.b.id))
        .await;
    assert!(
        of_b.text
            .contains(&format!("name=\"org_id\" value=\"{}\"", app.b.id))
    );
    // What the pages show is what happened: the scan's score and failures, and the chart.
    let viewer = Browser::of(&app, app.token("viewer"));
    let detail = viewer.get(&format!("/scans/{scan}")).await.text;
    assert!(detail.contains("data-testid=\"scan-score\""), "{detail}");
    assert!(detail.contains("report?format=arf") && detail.contains("report?format=html"));
    // Failures are listed first, the most severe on top; filters narrow the list.
    let results = &detail[detail.find("class=\"stack results\"").unwrap()..];
    let fail_end = results.find("badge-pass").unwrap_or(results.len());
    let failed_ranks: Vec<usize> = results[..fail_end]
        .match_indices("class=\"badge sev-")
        .map(|(at, marker)| results[at + marker.len()..].split('"').next().unwrap())
        .map(|s| {
            ["critical", "high", "medium", "low", "info"]
                .iter()
                .position(|x| *x == s)
                .unwrap_or_else(|| panic!("severity {s:?}"))
        })
        .collect();
    assert!(
        !failed_ranks.is_empty() && failed_ranks.is_sorted(),
        "most severe failures first: {failed_ranks:?}"
    );
    let none = viewer
        .get(&format!("/scans/{scan}?q=no-check-is-called-this"))
        .await
        .text;
    assert!(none.contains("No results match these filters"), "{none}");
    // The scan list for one selected host: its numbers and its last 30 days above the list.
    let for_host = viewer.get(&format!("/scans?host_id={host}")).await.text;
    for part in [
        "Total scans",
        "Latest score",
        "Passed rules",
        "Failed rules",
        "class=\"chart-point\"",
    ] {
        assert!(for_host.contains(part), "{part}: {for_host}");
    }
    assert!(for_host.contains(&format!("<option value=\"{host}\" selected>")));
    let history = viewer
        .get(&format!("/hosts/{host}?tab=compliance"))
        .await
        .text;
    assert!(
        history.contains("class=\"chart-point\""),
        "score history is drawn"
    );
    // Policy names are escaped wherever they appear.
    let policies = viewer.get("/policies").await.text;
    assert!(
        policies.contains("Linux &#60;baseline&#62;")
            || policies.contains("Linux &lt;baseline&gt;"),
        "{policies}"
    );
    assert!(!policies.contains("<baseline>"));
}

#[tokio::test]
async fn forms_need_the_sessions_csrf_token_and_the_apis_permission() {
    let app = TestApp::new().await;
    let form = [
        ("name", "Servers"),
        ("os_type", "linux"),
        ("template_id", "cis-linux-l1"),
        ("scan_interval_hours", "24"),
        ("passing_threshold", "80"),
        ("schedule_type", "continuous"),
        ("active", "true"),
    ];
    let user = Browser::of(&app, app.token("user"));
    let missing = user.post("/policies", &form, None).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.text);
    let other = Browser::of(&app, app.token("viewer")).csrf().await;
    let forged = user.post("/policies", &form, Some(&other)).await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "another session's token"
    );
    // A viewer posting anyway gets the API's 403.
    let viewer = Browser::of(&app, app.token("viewer"));
    let refused = viewer.submit("/policies", &form).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.text.contains("compliance.manage"),
        "{}",
        refused.text
    );
    assert!(
        app.state
            .store
            .list_policies(&bulwark_store::Scope::All)
            .await
            .unwrap()
            .is_empty()
    );

    let created = user.submit("/policies", &form).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let to = created.headers["hx-redirect"].to_str().unwrap();
    assert!(to.starts_with("/policies/"), "{to}");
    // Without htmx, the same success is a plain redirect; the token may come as a field.
    let token = user.csrf().await;
    let mut plain: Vec<(&str, &str)> = form.to_vec();
    plain[0] = ("name", "Workstations");
    plain.push(("_csrf", &token));
    let req = Request::post("/policies")
        .header("cookie", &user.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(&plain).unwrap()))
        .unwrap();
    let r = app.dispatch(req).await;
    // One policy per organization and OS type: the store's conflict, shown in the form.
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("alert-error"));
}

#[tokio::test]
async fn form_errors_are_the_apis_and_name_their_field() {
    let app = TestApp::new().await;
    let user = Browser::of(&app, app.token("user"));
    for (form, status, field) in [
        (
            vec![
                ("name", "x"),
                ("os_type", "linux"),
                ("template_id", "cis-linux-l1"),
                ("scan_interval_hours", "5"),
            ],
            422,
            "scan_interval_hours",
        ),
        (
            vec![
                ("name", "x"),
                ("os_type", "linux"),
                ("template_id", "cis-linux-l1"),
                ("scan_interval_hours", "soon"),
            ],
            422,
            "scan_interval_hours",
        ),
        (
            vec![("name", "x"), ("os_type", "linux")],
            422,
            "template_id",
        ),
        (
            vec![
                ("name", "x"),
                ("os_type", "linux"),
                ("template_id", "cis-linux-l1"),
                ("colour", "red"),
            ],
            422,
            "colour",
        ),
    ] {
        let r = user.submit("/policies", &form).await;
        assert_eq!(r.status.as_u16(), status, "{form:?}: {}", r.text);
        assert!(
            r.text.contains(&format!("data-field=\"{field}\"")),
            "{form:?}: {}",
            r.text
        );
    }
    let r = user
        .submit(
            "/exceptions",
            &[
                ("rule_id", "x"),
                ("reason", "r"),
                ("expires_on", "2001-01-01"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("data-field=\"expires_on\""), "{}", r.text);
    let r = user
        .submit(
            "/templates/cis-linux-l1/checks",
            &[("check_yaml", "- id: x\n  title: [unclosed\n")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains("line "),
        "YAML errors give the line: {}",
        r.text
    );
    // System templates are read-only: the API's 403, explained.
    let r = user.submit("/templates/cis-linux-l1/delete", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn other_tenants_objects_are_not_found_and_values_are_escaped() {
    let app = TestApp::new().await;
    let hostile = new_host(&app.state.store, &app.a, "<script>alert(1)</script>").await;
    let user = Browser::of(&app, app.token("user"));
    let list = user.get("/hosts").await.text;
    assert!(!list.contains("<script>alert(1)"), "{list}");
    assert!(list.contains("alert(1)"));
    let page = user.get(&format!("/hosts/{}", hostile.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    let theirs = user.get(&format!("/hosts/{}", app.host_b.id)).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert!(theirs.text.contains("organization you cannot see"));
    let r = user
        .submit(
            &format!("/hosts/{}/maintenance", app.host_b.id),
            &[("maintenance", "true")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a user cannot manage hosts: {}",
        r.text
    );
    let provisioner = Browser::of(&app, app.token("provisioner"));
    let r = provisioner
        .submit(
            &format!("/hosts/{}/maintenance", app.host_b.id),
            &[("maintenance", "true")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

#[tokio::test]
async fn bulk_scans_report_progress_and_exceptions_change_the_next_score() {
    let app = TestApp::new().await;
    let (pid, first) = world(&app).await;
    let user = Browser::of(&app, app.token("user"));
    let offline = common::new_windows_host(&app.state.store, &app.a, "win-1").await;
    let r = user
        .submit(
            "/scans",
            &[
                ("policy_id", &pid),
                ("host_id", &app.host_a.id),
                ("host_id", &offline.id),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains("0 of 1 scans finished"), "{}", r.text);
    assert_eq!(
        r.headers["hx-trigger"], "scans-started",
        "the page's scan list reloads with the new scan"
    );
    assert!(
        r.text.contains("win-1 runs windows"),
        "the refused host is named: {}",
        r.text
    );
    assert!(
        r.text.contains("hx-trigger=\"every 2s\""),
        "polls while running"
    );
    let scans = user.get("/scans").await.text;
    assert!(
        scans.contains(", every 10s\""),
        "the list refreshes while a scan is pending"
    );

    // Waive the first failing check for host A; the next scan scores higher.
    let failing = app
        .state
        .store
        .scan_results(
            &bulwark_store::Scope::All,
            &first,
            Some(bulwark_core::Status::Fail),
        )
        .await
        .unwrap();
    let r = user
        .submit(
            "/exceptions",
            &[
                ("rule_id", &failing[0].check_id),
                ("host_id", &app.host_a.id),
                ("reason", "accepted by the CISO"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let pending = app
        .state
        .store
        .list_scans(
            &bulwark_store::Scope::All,
            &bulwark_store::ScanFilter {
                status: Some(bulwark_store::ScanStatus::Pending),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let second = &pending[0].id;
    let results = app
        .state
        .store
        .scan_results(&bulwark_store::Scope::All, &first, None)
        .await
        .unwrap();
    let again: Vec<AgentResult> = results
        .into_iter()
        .map(|r| AgentResult {
            check_id: r.check_id,
            outcome: r.outcome,
        })
        .collect();
    ingest::submit(&app.state, second, again).await.unwrap();
    let progress = user.get(&format!("/scans/progress?id={second}")).await.text;
    assert!(
        progress.contains("1 of 1 scans finished") && !progress.contains("every 2s"),
        "{progress}"
    );
    let score = |id: &str| {
        let store = app.state.store.clone();
        let id = id.to_owned();
        async move {
            store
                .get_scan(&bulwark_store::Scope::All, &id)
                .await
                .unwrap()
                .score
                .unwrap()
        }
    };
    assert!(score(second).await > score(&first).await);
    let page = user
        .get(&format!("/scans/{second}?status=waived"))
        .await
        .text;
    assert!(page.contains("accepted by the CISO"), "{page}");
}

#[tokio::test]
async fn result_exports_neutralize_formulas() {
    let app = TestApp::new().await;
    let (_, scan) = world(&app).await;
    let r = Browser::of(&app, app.token("viewer"))
        .get(&format!("/scans/{scan}/results.csv"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        r.text
            .starts_with("check_id,title,category,severity,status,actual,expected,reason")
    );
    assert!(r.text.contains("'=HYPERLINK"), "{}", &r.text[..400]);
    assert!(!r.text.contains(",=HYPERLINK"));
}

#[tokio::test]
async fn assets_are_served_from_the_binary() {
    let app = TestApp::new().await;
    for (path, kind) in [
        ("/assets/app.css", "text/css"),
        ("/assets/htmx.min.js", "text/javascript"),
        ("/assets/app.js", "text/javascript"),
    ] {
        let r = app
            .dispatch(Request::get(path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
    }
    let r = app
        .dispatch(
            Request::get("/assets/../Cargo.toml")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_ne!(r.status, StatusCode::OK);
}

/// Going back and posting a creating form again answers 409 instead of a duplicate; a form
/// that failed can be corrected and sent with the same token.
#[tokio::test]
async fn a_form_is_submitted_once() {
    let app = TestApp::new().await;
    let user = Browser::of(&app, app.token("user"));
    let page = user.get("/policies").await.text;
    let at = page
        .find("name=\"_once\" value=\"")
        .expect("the form carries a token")
        + 20;
    let token = page[at..].split('"').next().unwrap().to_owned();
    let form = |interval: &'static str| {
        vec![
            ("_once", token.clone()),
            ("name", "Servers".to_owned()),
            ("os_type", "linux".to_owned()),
            ("template_id", "cis-linux-l1".to_owned()),
            ("scan_interval_hours", interval.to_owned()),
        ]
    };
    let send = |fields: Vec<(&'static str, String)>| {
        let user = &user;
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            user.submit("/policies", &pairs).await
        }
    };
    let refused = send(form("2")).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );
    let created = send(form("24")).await;
    assert_eq!(
        created.status,
        StatusCode::OK,
        "the corrected form: {}",
        created.text
    );
    let again = send(form("24")).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert!(again.text.contains("already submitted"), "{}", again.text);
    let policies = app
        .ok(
            "GET",
            "/api/v1/compliance/policies",
            app.token("user"),
            None,
        )
        .await;
    assert_eq!(policies.as_array().unwrap().len(), 1, "no duplicate");
}
