//! `bulwark demo` as a person runs it: it prints a URL and an admin's password that log in,
//! the dashboard has a fleet with history, a second run reuses the data directory, and
//! with the agent beside it, this machine's host enrolls and gets scanned.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use support::{Server, agent_binary, eventually};

/// Starts the demo and reads its banner: the URL and the password.
fn demo(dir: &Path, extra: &[&str]) -> (Server, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .env("BULWARK_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let server = Server(child);
    let (mut url, mut password) = (None, None);
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(u) = line.strip_prefix("Bulwark demo is running: open ") {
            url = Some(u.trim().to_owned());
        }
        if let Some(p) = line.trim().strip_prefix("password: ") {
            password = Some(p.trim().to_owned());
        }
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    (server, url.expect("a URL"), password.expect("a password"))
}

/// A browser's session: the client and the cookie the login set.
struct Session(reqwest::Client, String);

async fn logged_in(url: &str, password: &str) -> Session {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{url}/login"))
        .form(&[("username", "admin"), ("password", password), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    Session(http, cookie)
}

async fn page(session: &Session, url: &str, path: &str) -> String {
    let r = session
        .0
        .get(format!("{url}{path}"))
        .header("cookie", &session.1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

#[tokio::test]
async fn demo_logs_in_shows_history_reuses_its_data_and_scans_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let (server, url, password) = demo(&data, &["--no-agent"]);
    let http = logged_in(&url, &password).await;
    let hosts = page(&http, &url, "/hosts").await;
    assert_eq!(hosts.matches(">demo-web-0").count(), 2, "{hosts}");
    let trends = page(&http, &url, "/trends?days=30").await;
    assert!(
        trends.matches("class=\"chart-point\"").count() >= 20,
        "three weeks of history are charted"
    );
    drop(server);

    // Again on the same directory: the same password, the same fleet, and now the agent.
    let (_server, url, again) = demo(&data, &[]);
    assert_eq!(again, password);
    let _ = agent_binary();
    let http = logged_in(&url, &password).await;
    let hosts = page(&http, &url, "/hosts").await;
    assert_eq!(
        hosts.matches(">demo-web-01<").count(),
        1,
        "nothing is seeded twice"
    );
    let scanned = eventually(120, "this machine's first scan", || async {
        let scans = page(&http, &url, "/scans?status=completed").await;
        // The demo fleet's history is all scheduled; the local host's first scan is new.
        scans.contains("just now").then_some(scans)
    })
    .await;
    assert!(scanned.contains("badge-completed"));
}
