//! `bulwark demo` as a person runs it: it prints a URL and an admin's password that log in,
//! the enrollment secret and a command to enroll another machine; the dashboard has a fleet
//! with history that stays online and answers scans; a second run reuses the data directory;
//! with the agent beside it, this machine's host enrolls and gets scanned; Ctrl-C stops it
//! at once, and its output carries no terminal colour codes.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use std::time::{Duration, Instant};

use support::{Api, Server, agent_binary, bulwark, eventually, field};

/// Starts the demo and reads its banner: the URL, the password and every line before
/// "Press Ctrl-C" (info logs included, which must be plain text when not on a terminal).
fn demo(dir: &Path, extra: &[&str]) -> (Server, String, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .env("BULWARK_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let server = Server(child);
    let (mut url, mut password, mut banner) = (None, None, String::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
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
    // The rest of the output is read (and dropped) so that the demo never blocks on a pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (
        server,
        url.expect("a URL"),
        password.expect("a password"),
        banner,
    )
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
    let (server, url, password, banner) = demo(&data, &["--no-agent"]);
    assert!(
        !banner.contains('\x1b'),
        "no colour codes off a terminal: {banner:?}"
    );
    let secret = banner
        .lines()
        .find_map(|l| l.trim().strip_prefix("enrollment secret: "))
        .expect("the enrollment secret is printed")
        .to_owned();
    assert!(
        banner.contains(&format!(
            "bulwark-agent install --server-url {url} --org-secret {secret}"
        )),
        "a command to enroll another machine: {banner}"
    );
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
    let (mut server, url, again, banner) = demo(&data, &[]);
    assert_eq!(again, password);
    assert!(
        banner.contains(&format!("enrollment secret: {secret}")),
        "the same secret: {banner}"
    );
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

    // The simulated fleet is online, marked as such, and answers a scan asked of it.
    let db = format!("sqlite://{}", data.join("bulwark.db").display());
    let token = field(
        &bulwark(
            &[
                "admin",
                "--database-url",
                &db,
                "token",
                "create",
                "--user",
                "admin",
            ],
            None,
        ),
        "token",
    );
    let api = Api {
        http: reqwest::Client::new(),
        url: url.clone(),
        token,
    };
    let hosts = api.get("/api/v1/hosts").await;
    let web = hosts
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hostname"] == "demo-web-01")
        .unwrap()
        .clone();
    assert_eq!(web["status"], "online", "{web}");
    let groups = api.get("/api/v1/host-groups").await;
    assert!(
        groups.to_string().contains("Demo fleet (simulated)"),
        "{groups}"
    );
    let policy = api.get("/api/v1/compliance/policies").await[0].clone();
    let scan = api
        .post(
            "/api/v1/compliance/scans",
            serde_json::json!({"policy_id": policy["id"], "host_id": web["id"]}),
        )
        .await;
    let done = support::scan_reaches(&api, scan["id"].as_str().unwrap(), "completed", 60).await;
    assert!(done["score"].as_f64().is_some(), "{done}");

    // Ctrl-C stops server and agent at once, though the agent holds a long poll open.
    let pid = server.0.id().to_string();
    let interrupted = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            interrupted.elapsed() < Duration::from_secs(10),
            "the demo still runs 10 s after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!(
        "stopped {:?} after Ctrl-C ({status})",
        interrupted.elapsed()
    );
    assert!(status.success(), "{status}");
}
