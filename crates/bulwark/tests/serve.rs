//! The `bulwark` binary as a user runs it: admin commands on an empty database, then `serve`
//! on 127.0.0.1:0 answering the API with the token they made — on SQLite in an empty
//! directory and on PostgreSQL.

mod support;

use std::process::Command;

use support::{bulwark, eventually, field, serve};

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
    let templates: serde_json::Value = eventually(30, "the server to answer", || async {
        let r = client
            .get(format!("{base}/api/v1/compliance/templates"))
            .bearer_auth(&token)
            .send()
            .await
            .ok()?;
        r.json().await.ok()
    })
    .await;
    let ids: Vec<&str> = templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    for shipped in [
        "cis-linux-l1",
        "cis-linux-l1-workstation",
        "cis-linux-l2",
        "cis-linux-l2-workstation",
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
