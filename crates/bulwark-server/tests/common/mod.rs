//! An in-process server on a fresh store, with an organization per tenant, hosts, and an
//! API token per role.

#![allow(dead_code)]

pub mod ssh;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use bulwark_core::{CheckOutcome, Role};
use bulwark_server::ingest::AgentResult;
use bulwark_server::{AppState, ServerConfig, auth};
use bulwark_store::{CredentialKind, Host, NewHost, Org, Store};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub a: Org,
    pub b: Org,
    pub host_a: Host,
    pub host_b: Host,
    /// Role name → token of a user of organization A with that role.
    pub tokens: HashMap<&'static str, String>,
    /// Token of a manager of organization B.
    pub b_token: String,
    /// Token of an account-wide admin.
    pub root: String,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn field(&self) -> Option<String> {
        self.json()["error"]["field"].as_str().map(str::to_owned)
    }
}

/// A host that counts as online (created now, as if its agent had just beaten).
pub async fn new_host(store: &Arc<dyn Store>, org: &Org, name: &str) -> Host {
    store
        .create_host(&NewHost {
            org_id: org.id.clone(),
            hostname: name.into(),
            os_kind: bulwark_core::OsKind::Linux,
            os_id: "debian".into(),
            os_version: "12".into(),
        })
        .await
        .unwrap()
}

/// A Windows Server 2022 host that counts as online.
pub async fn new_windows_host(store: &Arc<dyn Store>, org: &Org, name: &str) -> Host {
    store
        .create_host(&NewHost {
            org_id: org.id.clone(),
            hostname: name.into(),
            os_kind: bulwark_core::OsKind::Windows,
            os_id: "windows".into(),
            os_version: "2022".into(),
        })
        .await
        .unwrap()
}

pub async fn token_for(
    store: &Arc<dyn Store>,
    name: &str,
    role: Role,
    orgs: Option<&[String]>,
) -> String {
    let user = store.create_user(name, "unused", role, orgs).await.unwrap();
    let token = auth::new_secret("bwt_");
    store
        .add_credential(
            &user.id,
            &auth::hash_secret(&token),
            CredentialKind::ApiToken,
            "test",
            None,
        )
        .await
        .unwrap();
    token
}

impl TestApp {
    pub async fn new() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store = bulwark_store::testing::sqlite(dir.path()).await.unwrap();
        Self::on(store, dir).await
    }

    pub async fn on(store: Arc<dyn Store>, dir: tempfile::TempDir) -> TestApp {
        Self::on_config(store, dir, Self::config()).await
    }

    /// The tests' server settings.
    pub fn config() -> ServerConfig {
        ServerConfig {
            body_limit: 64 * 1024,
            // The tests' webhook receivers listen on loopback.
            outbound: bulwark_server::outbound::OutboundPolicy {
                allow_private: true,
            },
            ..Default::default()
        }
    }

    pub async fn on_config(
        store: Arc<dyn Store>,
        dir: tempfile::TempDir,
        config: ServerConfig,
    ) -> TestApp {
        bulwark_server::seed::system_templates(store.as_ref())
            .await
            .unwrap();
        let a = store.create_org("alpha", "ha").await.unwrap();
        let b = store.create_org("beta", "hb").await.unwrap();
        let host_a = new_host(&store, &a, "web-a").await;
        let host_b = new_host(&store, &b, "web-b").await;
        let mut tokens = HashMap::new();
        for role in Role::ALL {
            let t = token_for(
                &store,
                &format!("a-{}", role.as_str()),
                role,
                Some(std::slice::from_ref(&a.id)),
            )
            .await;
            tokens.insert(role.as_str(), t);
        }
        let b_token = token_for(
            &store,
            "b-user",
            Role::User,
            Some(std::slice::from_ref(&b.id)),
        )
        .await;
        let root = token_for(&store, "root", Role::Admin, None).await;
        let state = AppState::new(store, config);
        let router = bulwark_server::app(state.clone());
        TestApp {
            state,
            router,
            a,
            b,
            host_a,
            host_b,
            tokens,
            b_token,
            root,
            _dir: dir,
        }
    }

    /// The directory holding the test's database (and secret key, where there is one).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub fn token(&self, role: &str) -> &str {
        &self.tokens[role]
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_owned())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.dispatch(req).await
    }

    pub async fn dispatch(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Reply {
        let text = body.map(|b| b.to_string());
        self.send(method, path, Some(token), text.as_deref()).await
    }

    /// A call that must succeed; returns its JSON.
    pub async fn ok(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let r = self.call(method, path, token, body).await;
        assert_eq!(r.status, StatusCode::OK, "{method} {path}: {}", r.text);
        r.json()
    }
}

/// Triggers an on-demand scan as the `user` role; answers the pending scan's id.
pub async fn trigger(app: &TestApp, policy: &str, host: &str) -> String {
    let scan = app
        .ok(
            "POST",
            "/api/v1/compliance/scans",
            app.token("user"),
            Some(serde_json::json!({"policy_id": policy, "host_id": host})),
        )
        .await;
    assert_eq!(scan["status"], "pending");
    scan["id"].as_str().unwrap().to_owned()
}

/// What an agent would send: `fail` for the first `failures` enabled checks, `pass` for the rest.
pub async fn agent_results(app: &TestApp, template: &str, failures: usize) -> Vec<AgentResult> {
    let checks = app
        .ok(
            "GET",
            &format!("/api/v1/compliance/templates/{template}"),
            app.token("viewer"),
            None,
        )
        .await["checks"]
        .as_array()
        .unwrap()
        .clone();
    checks
        .iter()
        .filter(|c| c["enabled"] == true)
        .enumerate()
        .map(|(i, c)| AgentResult {
            check_id: c["id"].as_str().unwrap().to_owned(),
            outcome: CheckOutcome::judged(i >= failures, Some(format!("value {i}")), "wanted"),
        })
        .collect()
}
