//! The web UI in a real browser: `ui-tests/browser.mjs` drives Debian's chromium with
//! playwright-core against `bulwark serve` and a `bulwark-agent` scanning the Debian 12
//! fixture root. `.ci/run` installs chromium and the npm packages; screenshots of every main
//! page land in `$CARGO_TARGET_TMPDIR/ui-screenshots`.

mod support;

use std::path::Path;
use std::process::Command;

use support::{bulwark, debian_root, field, serve, start_agent, write_config};

fn admin(db: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut all = vec!["admin", "--database-url", db];
    all.extend_from_slice(args);
    bulwark(&all, stdin)
}

#[test]
fn the_ui_in_a_real_browser() {
    let (ui_tests, chromium) = support::browser_harness();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bulwark.db").display());
    let org = admin(&db, &["org", "create", "--name", "Browser"], None);
    let (org_id, secret) = (field(&org, "org_id"), field(&org, "enrollment_secret"));
    let admin_password = "an admin password for the browser";
    let viewer_password = "a viewer password for the browser";
    admin(
        &db,
        &["user", "create", "--username", "ada", "--role", "admin"],
        Some(admin_password),
    );
    admin(
        &db,
        &[
            "user",
            "create",
            "--username",
            "vic",
            "--role",
            "viewer",
            "--org",
            &org_id,
        ],
        Some(viewer_password),
    );
    let (_server, url) = serve(&db);
    let fixture = debian_root();
    let agent_dir = dir.path().join("agent");
    std::fs::create_dir_all(&agent_dir).unwrap();
    let config = write_config(&agent_dir, &url, &secret, &fixture.path());
    let _agent = start_agent(&config, &agent_dir.join("agent.log"));

    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    let out = Command::new("node")
        .arg(ui_tests.join("browser.mjs"))
        .current_dir(&ui_tests)
        .env("BULWARK_URL", &url)
        .env("ADMIN_USER", "ada")
        .env("ADMIN_PASSWORD", admin_password)
        .env("VIEWER_USER", "vic")
        .env("VIEWER_PASSWORD", viewer_password)
        .env("SCREENSHOTS", &screenshots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs (install nodejs)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\nscreenshots: {}", screenshots.display());
    assert!(
        out.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}\nagent log:\n{}\nscreenshots: {}",
        std::fs::read_to_string(agent_dir.join("agent.log")).unwrap_or_default(),
        screenshots.display()
    );
}

#[test]
fn agentless_scanning_in_a_real_browser() {
    use bulwark_ssh::testing::{Sshd, SudoRule, TempUser};
    let (ui_tests, chromium) = support::browser_harness();
    assert!(
        std::env::var_os("BULWARK_SCANNER").is_some(),
        "BULWARK_SCANNER must name the static scanner (scripts/test builds it)"
    );
    let Some(sshd) = Sshd::start() else { return };
    let home = tempfile::Builder::new()
        .prefix("bulwark-browser-home")
        .tempdir_in("/tmp")
        .unwrap();
    let user = TempUser::with_home("w", home.path());
    let _sudo = SudoRule::install(
        &user.name,
        &format!("{} ALL=(root) NOPASSWD: ALL\n", user.name),
    );

    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bulwark.db").display());
    admin(&db, &["org", "create", "--name", "Agentless"], None);
    let admin_password = "an admin password for the browser";
    admin(
        &db,
        &["user", "create", "--username", "ada", "--role", "admin"],
        Some(admin_password),
    );
    let (_server, url) = serve(&db);
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    let out = Command::new("node")
        .arg(ui_tests.join("agentless.mjs"))
        .current_dir(&ui_tests)
        .env("BULWARK_URL", &url)
        .env("ADMIN_USER", "ada")
        .env("ADMIN_PASSWORD", admin_password)
        .env("SSH_PORT", sshd.port.to_string())
        .env("SSH_USER", &user.name)
        .env("CLIENT_KEY", &sshd.client_key)
        .env("HOST_FINGERPRINT", &sshd.host_fingerprint)
        .env("SCREENSHOTS", &screenshots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs (install nodejs)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\nscreenshots: {}", screenshots.display());
    assert!(
        out.status.success(),
        "the agentless browser test failed:\n{stdout}\n{stderr}\nsshd log:\n{}\nscreenshots: {}",
        sshd.log(),
        screenshots.display()
    );
    drop(home);
}
