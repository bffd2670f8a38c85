//! The agent's configuration file (`/etc/bulwark/agent.toml` by default), written by
//! `bulwark-agent install`. It holds the organization secret, so it is written mode 0600 and
//! its Debug output hides the secret.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

pub const DEFAULT_CONFIG: &str = "/etc/bulwark/agent.toml";
pub const DEFAULT_STATE_DIR: &str = "/var/lib/bulwark-agent";

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// The server's base URL, e.g. `https://bulwark.example.com`.
    pub server_url: String,
    /// The organization's enrollment secret (Settings > Organizations).
    pub org_secret: String,
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// The filesystem to scan: `/` for this host.
    #[serde(default = "default_root")]
    pub root: PathBuf,
    /// Most results and inventory kept while the server is unreachable (oldest dropped first).
    #[serde(default = "default_spool_items")]
    pub spool_max_items: usize,
    #[serde(default = "default_spool_bytes")]
    pub spool_max_bytes: u64,
    /// Run checks whose probe is a command (custom content: code from whoever may edit
    /// templates). Off unless the host's owner opts in here; the server's organization flag
    /// `script_execution` must allow them too.
    #[serde(default)]
    pub allow_commands: bool,
    /// Run script jobs (code an operator wrote, run as root). Off unless the host's owner
    /// opts in here: a server alone, even a compromised one, cannot run a script on this
    /// host. The organization's `script_execution` flag must allow it too.
    #[serde(default)]
    pub allow_scripts: bool,
}

fn default_state_dir() -> PathBuf {
    DEFAULT_STATE_DIR.into()
}

fn default_root() -> PathBuf {
    "/".into()
}

fn default_spool_items() -> usize {
    1000
}

fn default_spool_bytes() -> u64 {
    64 * 1024 * 1024
}

impl std::fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentConfig")
            .field("server_url", &self.server_url)
            .field("org_secret", &"<redacted>")
            .field("state_dir", &self.state_dir)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl AgentConfig {
    pub fn new(server_url: &str, org_secret: &str, state_dir: &Path) -> Self {
        AgentConfig {
            server_url: server_url.trim_end_matches('/').to_owned(),
            org_secret: org_secret.to_owned(),
            state_dir: state_dir.to_owned(),
            root: default_root(),
            spool_max_items: default_spool_items(),
            spool_max_bytes: default_spool_bytes(),
            allow_commands: false,
            allow_scripts: false,
        }
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the agent configuration {}", path.display()))?;
        let mut config: AgentConfig = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid agent configuration", path.display()))?;
        config.server_url = config.server_url.trim_end_matches('/').to_owned();
        if !(config.server_url.starts_with("http://") || config.server_url.starts_with("https://"))
        {
            anyhow::bail!(
                "{}: server_url must start with http:// or https://, not {:?}",
                path.display(),
                config.server_url
            );
        }
        if config.org_secret.trim().is_empty() {
            anyhow::bail!("{}: org_secret is empty", path.display());
        }
        Ok(config)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("the configuration serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_hides_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        let config = AgentConfig::new("http://127.0.0.1:8080/", "bwo_secret", dir.path());
        std::fs::write(&path, config.to_toml()).unwrap();
        let loaded = AgentConfig::load(&path).unwrap();
        assert_eq!(loaded.server_url, "http://127.0.0.1:8080");
        assert_eq!(loaded.spool_max_items, 1000);
        assert!(!format!("{loaded:?}").contains("bwo_secret"));
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "server_url = \"ftp://x\"\norg_secret = \"s\"\n",
                "must start with http",
            ),
            (
                "server_url = \"http://x\"\norg_secret = \"\"\n",
                "org_secret is empty",
            ),
            ("server_url = \"http://x\"\n", "org_secret"),
            (
                "server_url = \"http://x\"\norg_secret = \"s\"\ncolour = 1\n",
                "colour",
            ),
        ];
        for (text, words) in cases {
            let path = dir.path().join("agent.toml");
            std::fs::write(&path, text).unwrap();
            let err = format!("{:#}", AgentConfig::load(&path).unwrap_err());
            assert!(err.contains(words), "{words:?} in {err}");
        }
    }
}
