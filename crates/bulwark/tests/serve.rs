//! The `bulwark` binary as a user runs it: admin commands on an empty database, then `serve`
//! on 127.0.0.1:0 answering the API with the token they made — on SQLite in an empty
//! directory and on PostgreSQL.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bulwark(args: &[&str], stdin: Option<&str>) -> String {
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

fn field(output: &str, name: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {output}"))
        .to_owned()
}

/// Starts `serve` and waits for the address it prints.
fn serve(database_url: &str) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args([
            "serve",
            "--database-url",
            database_url,
            "--listen",
            "127.0.0.1:0",
        ])
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

async fn exercise(database_url: &str) {
    let org = bulwark(
        &[
            "admin",
            "--database-url",
            database_url,
            "org",
            "create",
            "--name",
            "Acme",
        ],
        None,
    );
    let org_id = field(&org, "org_id");
    assert!(field(&org, "enrollment_secret").starts_with("bwe_"));
    bulwark(
        &[
            "admin",
            "--database-url",
            database_url,
            "user",
            "create",
            "--username",
            "alice",
            "--role",
            "user",
            "--org",
            &org_id,
        ],
        Some("a long enough password\n"),
    );
    let token = field(
        &bulwark(
            &[
                "admin",
                "--database-url",
                database_url,
                "token",
                "create",
                "--user",
                "alice",
            ],
            None,
        ),
        "token",
    );

    let (_server, base) = serve(database_url);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let templates: serde_json::Value = loop {
        match client
            .get(format!("{base}/api/v1/compliance/templates"))
            .bearer_auth(&token)
            .send()
            .await
        {
            Ok(r) => break r.json().await.unwrap(),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("server never answered: {e}"),
        }
    };
    let ids: Vec<&str> = templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    for shipped in [
        "cis-linux-l1",
        "cis-linux-l2",
        "stig-linux",
        "cis-windows-server-l1",
    ] {
        assert!(
            ids.contains(&shipped),
            "{shipped} seeded at start-up: {ids:?}"
        );
    }
    let created = client
        .post(format!("{base}/api/v1/compliance/policies"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Linux", "os_type": "linux", "template_id": "cis-linux-l2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let denied = client
        .get(format!("{base}/api/v1/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403, "a user cannot manage settings");
    let doc: serde_json::Value = client
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}

#[tokio::test]
async fn serves_sqlite_from_an_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("data/bulwark.db").display());
    exercise(&url).await;
    assert!(dir.path().join("data/bulwark.db").exists());
}

#[tokio::test]
async fn serves_postgres() {
    let url = bulwark_store::testing::postgres_schema_url()
        .await
        .expect("PostgreSQL for the serve test");
    exercise(&url).await;
}

#[test]
fn bad_configuration_is_reported_with_where() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bulwark.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\ncolour = \"red\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("bulwark.toml") && err.contains("colour"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args([
            "admin",
            "--database-url",
            "mysql://x",
            "org",
            "create",
            "--name",
            "x",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sqlite://PATH or postgres://"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_database_url_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("database-url");
    let db = dir.path().join("from-file.db");
    std::fs::write(&secret, format!("sqlite://{}\n", db.display())).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args(["admin", "org", "create", "--name", "Filed"])
        .env("BULWARK_DATABASE_URL_FILE", &secret)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.exists(), "the URL in the file was used");
}
