//! Running the real binaries in tests: `bulwark` admin commands and `serve`, and the
//! `bulwark-agent` built beside it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bulwark_core::template::TestCase;
use bulwark_engine::fixture::FixtureRoot;

pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn bulwark(args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "bulwark {args:?}: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

pub fn field(output: &str, name: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {output}"))
        .to_owned()
}

/// Starts `serve` on a free port and waits for the address it prints.
pub fn serve(database_url: &str) -> (Server, String) {
    serve_on(database_url, "127.0.0.1:0")
}

/// Starts `serve` on `listen` and waits for the address it prints.
pub fn serve_on(database_url: &str, listen: &str) -> (Server, String) {
    serve_with(&["--database-url", database_url, "--listen", listen])
}

/// Starts `serve ARGS` and waits for the address it prints.
pub fn serve_with(args: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .arg("serve")
        .args(args)
        .env("BULWARK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("bulwark listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line}"))
        .to_owned();
    (server, url)
}

/// The `bulwark-agent` binary, which cargo builds beside `bulwark` when the workspace's
/// tests are built (`cargo nextest run --workspace`).
pub fn agent_binary() -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_BIN_EXE_bulwark")).with_file_name("bulwark-agent");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build -p bulwark-agent), or run the workspace's tests",
        path.display()
    );
    path
}

/// Polls `probe` every 100 ms until it answers `Some`, or panics after `secs` with `what`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A running `bulwark-agent run`, killed when dropped.
pub struct Agent(pub Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An agent configuration in `dir` that enrolls with `secret` and reads `root`.
pub fn write_config(dir: &Path, url: &str, secret: &str, root: &Path) -> PathBuf {
    let config = dir.join("agent.toml");
    let text = format!(
        "server_url = {url:?}\norg_secret = {secret:?}\nstate_dir = {:?}\nroot = {:?}\n",
        dir.join("state").display().to_string(),
        root.display().to_string()
    );
    std::fs::write(&config, text).unwrap();
    config
}

pub fn start_agent(config: &Path, log: &Path) -> Agent {
    let log = std::fs::File::create(log).unwrap();
    Agent(
        Command::new(agent_binary())
            .args(["run", "--config", config.to_str().unwrap()])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

pub fn enroll_once(config: &Path) -> (bool, String) {
    let out = Command::new(agent_binary())
        .args(["enroll", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The Debian 12 fixture root the end-to-end tests scan.
pub fn debian_root() -> FixtureRoot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/hosts/debian12.yaml");
    let case: TestCase = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    FixtureRoot::new(&case).unwrap()
}

/// The JSON API as one user (bearer token) sees it.
pub struct Api {
    pub http: reqwest::Client,
    pub url: String,
    pub token: String,
}

impl Api {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, String> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.map_err(|e| e.to_string())?;
        let status = res.status();
        let text = res.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }

    pub async fn get(&self, path: &str) -> serde_json::Value {
        self.call(reqwest::Method::GET, path, None)
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        self.call(reqwest::Method::POST, path, Some(body))
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }
}

/// `bulwark admin ARGS` on the database at `db`.
pub fn admin(db: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut all = vec!["admin", "--database-url", db];
    all.extend_from_slice(args);
    bulwark(&all, stdin)
}

/// The first online host of `org`, waiting up to a minute for its agent.
pub async fn online_host(api: &Api, org: &str) -> serde_json::Value {
    eventually(60, "the agent's host to be online", || async {
        let hosts = api.get("/api/v1/hosts?status=online").await;
        hosts
            .as_array()?
            .iter()
            .find(|h| h["org_id"] == org)
            .cloned()
    })
    .await
}

/// The scan once its status is `status`, waiting up to `secs`.
pub async fn scan_reaches(api: &Api, scan: &str, status: &str, secs: u64) -> serde_json::Value {
    eventually(secs, &format!("scan {scan} to be {status}"), || async {
        let s = api
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/compliance/scans/{scan}"),
                None,
            )
            .await
            .ok()?;
        (s["status"] == status).then_some(s)
    })
    .await
}

/// Binds CIS Level 1 to the organization's Linux hosts, scans `host_id` on demand and waits
/// up to `secs` for the scan to complete.
pub async fn scan_with_linux_l1(
    api: &Api,
    org_id: &str,
    host_id: &str,
    secs: u64,
) -> serde_json::Value {
    let policy = api
        .post(
            "/api/v1/compliance/policies",
            serde_json::json!({
                "org_id": org_id, "name": "Linux", "os_type": "linux",
                "template_id": "cis-linux-l1", "scan_interval_hours": 24
            }),
        )
        .await;
    let scan = api
        .post(
            "/api/v1/compliance/scans",
            serde_json::json!({"policy_id": policy["id"], "host_id": host_id}),
        )
        .await;
    scan_reaches(api, scan["id"].as_str().unwrap(), "completed", secs).await
}

/// The browser tests' harness: the `ui-tests` directory and Debian's chromium (or `CHROMIUM`),
/// both of which `.ci/run` installs.
pub fn browser_harness() -> (PathBuf, String) {
    let ui_tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui-tests");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists() && ui_tests.join("node_modules/playwright-core").exists(),
        "the browser tests need Debian's chromium ({chromium}) and `npm ci` in ui-tests; .ci/run installs both"
    );
    (ui_tests, chromium)
}
