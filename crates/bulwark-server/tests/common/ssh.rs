//! What the tests that scan this machine over SSH share: the static scanner the server
//! uploads, a server configured for agentless scans, and throwaway logins.

use std::path::PathBuf;
use std::sync::Arc;

use bulwark_server::ServerConfig;
use bulwark_ssh::testing::{SudoRule, TempUser};

use super::TestApp;

/// The static scanner the server uploads; scripts/test builds it.
pub fn scanner() -> PathBuf {
    let path = std::env::var_os("BULWARK_SCANNER").map(PathBuf::from).expect(
        "BULWARK_SCANNER must name the static scanner: cargo build --profile scanner --target x86_64-unknown-linux-musl -p bulwark-scanner (scripts/test does)",
    );
    assert!(
        path.is_file(),
        "BULWARK_SCANNER {} is missing",
        path.display()
    );
    path
}

/// A server with a secret key and the scanner, on a fresh SQLite store.
pub async fn agentless_app(configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestApp::config();
    config.secrets = Some(Arc::new(
        bulwark_server::secrets::SecretBox::load_or_create(&dir.path().join("secret.key")).unwrap(),
    ));
    config.agentless.scanner = Some(scanner());
    configure(&mut config);
    let store = bulwark_store::testing::sqlite(dir.path()).await.unwrap();
    TestApp::on_config(store, dir, config).await
}

/// A login for scans: a user with a home of its own under /tmp. The home goes before the
/// user (fields drop in order), so no file is ever left without an owner.
pub struct Login {
    pub home: tempfile::TempDir,
    pub user: TempUser,
}

impl Login {
    pub fn new(tag: &str) -> Login {
        let home = tempfile::Builder::new()
            .prefix("bulwark-agentless-home")
            .tempdir_in("/tmp")
            .unwrap();
        let user = TempUser::with_home(tag, home.path());
        Login { user, home }
    }

    /// Installs a sudoers rule for the login, `USER` standing for its name.
    pub fn sudo(&self, rule: &str) -> SudoRule {
        SudoRule::install(&self.user.name, &rule.replace("USER", &self.user.name))
    }

    /// Work directories a scan left behind in the home directory.
    pub fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.home.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".bulwark-scan."))
            .collect()
    }
}
