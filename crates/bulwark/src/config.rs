//! Configuration: defaults, then a TOML file (`--config`), then `BULWARK_*` environment
//! variables, then flags. The database URL may carry a password: it can be read from the file
//! `BULWARK_DATABASE_URL_FILE` names, and it is only ever logged redacted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use serde::Deserialize;

#[derive(Args, Debug, Default)]
pub struct ConfigArgs {
    /// TOML file with any of the settings below.
    #[arg(long, env = "BULWARK_CONFIG")]
    pub config: Option<PathBuf>,
    /// sqlite://PATH (default: sqlite://bulwark-data/bulwark.db) or postgres://...
    #[arg(long, env = "BULWARK_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "BULWARK_LISTEN")]
    pub listen: Option<String>,
    /// Seconds between scheduler ticks (default 1800).
    #[arg(long, env = "BULWARK_SCHEDULER_INTERVAL_SECS")]
    pub scheduler_interval_secs: Option<u64>,
    /// Hosts per policy and tick (default 50).
    #[arg(long, env = "BULWARK_SWEEP_LIMIT")]
    pub sweep_limit: Option<i64>,
    /// Connections open at once (default 8192); above it a client gets 503 at once.
    #[arg(long, env = "BULWARK_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    listen: Option<String>,
    scheduler_interval_secs: Option<u64>,
    sweep_limit: Option<i64>,
    max_connections: Option<usize>,
    /// Let webhooks reach loopback and private networks (off: only public addresses).
    outbound_private: Option<bool>,
    warning_below: Option<f64>,
    critical_below: Option<f64>,
    session_hours: Option<i64>,
    /// Seconds heartbeat times wait in memory before they are written in one batch.
    heartbeat_flush_secs: Option<u64>,
    /// The file holding the key that seals stored SSH credentials (as BULWARK_SECRET_KEY_FILE).
    secret_key_file: Option<PathBuf>,
    /// The static scanner agentless scans upload (as BULWARK_SCANNER).
    scanner: Option<PathBuf>,
    /// Agentless scans running at once (default 16).
    ssh_max_concurrent: Option<usize>,
    /// The server's address as users reach it (as BULWARK_PUBLIC_URL), for links in
    /// Terraform's run view.
    public_url: Option<String>,
    /// How long a newly provisioned machine may take to answer SSH (default 180 s).
    provisioning_connect_wait_secs: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub listen: String,
    pub scheduler_interval_secs: u64,
    pub sweep_limit: i64,
    pub max_connections: usize,
    pub outbound_private: bool,
    pub warning_below: f64,
    pub critical_below: f64,
    pub session_hours: i64,
    pub heartbeat_flush_secs: u64,
    /// Where the key sealing SSH credentials lives; `None` (PostgreSQL without the setting):
    /// no credential can be stored until it is set.
    pub secret_key_file: Option<PathBuf>,
    pub scanner: Option<PathBuf>,
    pub ssh_max_concurrent: usize,
    pub public_url: Option<String>,
    pub provisioning_connect_wait_secs: u64,
}

impl Config {
    pub fn load(args: &ConfigArgs) -> Result<Config> {
        let file: FileConfig = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let defaults = bulwark_server::ServerConfig::default();
        // A URL with a password can come from a file (a container secret) instead.
        let from_file = match std::env::var_os("BULWARK_DATABASE_URL_FILE") {
            Some(path) => Some(
                std::fs::read_to_string(&path)
                    .with_context(|| {
                        format!(
                            "reading BULWARK_DATABASE_URL_FILE {}",
                            PathBuf::from(&path).display()
                        )
                    })?
                    .trim()
                    .to_owned(),
            ),
            None => None,
        };
        let database_url = args
            .database_url
            .clone()
            .or(from_file)
            .or(file.database_url)
            .unwrap_or_else(|| "sqlite://bulwark-data/bulwark.db".into());
        // The embedded default keeps its key beside its database; replicas sharing PostgreSQL
        // must all be given the same file.
        let secret_key_file = std::env::var_os("BULWARK_SECRET_KEY_FILE")
            .map(PathBuf::from)
            .or(file.secret_key_file)
            .or_else(|| {
                let path = database_url.strip_prefix("sqlite://")?;
                let dir = std::path::Path::new(path).parent()?;
                Some(dir.join("secret.key"))
            });
        let scanner = std::env::var_os("BULWARK_SCANNER")
            .map(PathBuf::from)
            .or(file.scanner)
            .or_else(default_scanner);
        Ok(Config {
            provisioning_connect_wait_secs: file
                .provisioning_connect_wait_secs
                .unwrap_or(defaults.provisioning.connect_wait.as_secs()),
            public_url: std::env::var("BULWARK_PUBLIC_URL")
                .ok()
                .or(file.public_url)
                .filter(|u| !u.trim().is_empty()),
            secret_key_file,
            scanner,
            ssh_max_concurrent: file
                .ssh_max_concurrent
                .unwrap_or(bulwark_server::agentless::AgentlessConfig::default().max_concurrent)
                .max(1),
            database_url,
            listen: args
                .listen
                .clone()
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".into()),
            scheduler_interval_secs: args
                .scheduler_interval_secs
                .or(file.scheduler_interval_secs)
                .unwrap_or(defaults.scheduler_interval.as_secs()),
            sweep_limit: args
                .sweep_limit
                .or(file.sweep_limit)
                .unwrap_or(defaults.sweep_limit),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(defaults.connections.max_connections),
            outbound_private: file
                .outbound_private
                .unwrap_or(defaults.outbound.allow_private),
            warning_below: file.warning_below.unwrap_or(defaults.warning_below),
            critical_below: file.critical_below.unwrap_or(defaults.critical_below),
            session_hours: file.session_hours.unwrap_or(defaults.session_hours),
            heartbeat_flush_secs: file
                .heartbeat_flush_secs
                .unwrap_or(defaults.seen_flush_interval.as_secs())
                .max(1),
        })
    }

    pub async fn open_store(&self) -> Result<Arc<dyn bulwark_store::Store>> {
        if let Some(path) = self.database_url.strip_prefix("sqlite://")
            && let Some(dir) = std::path::Path::new(path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        bulwark_store::connect(&self.database_url)
            .await
            .with_context(|| format!("opening the database {}", self.redacted_database_url()))
    }

    pub fn server_config(&self) -> Result<bulwark_server::ServerConfig> {
        let secrets = match &self.secret_key_file {
            Some(path) => {
                if let Some(dir) = path.parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                Some(Arc::new(
                    bulwark_server::secrets::SecretBox::load_or_create(path)?,
                ))
            }
            None => None,
        };
        Ok(bulwark_server::ServerConfig {
            secrets,
            agentless: bulwark_server::agentless::AgentlessConfig {
                scanner: self.scanner.clone(),
                max_concurrent: self.ssh_max_concurrent,
                ..Default::default()
            },
            scheduler_interval: Duration::from_secs(self.scheduler_interval_secs),
            sweep_limit: self.sweep_limit,
            warning_below: self.warning_below,
            critical_below: self.critical_below,
            session_hours: self.session_hours,
            connections: bulwark_server::listen::ConnectionLimits {
                max_connections: self.max_connections,
                ..Default::default()
            },
            outbound: bulwark_server::outbound::OutboundPolicy {
                allow_private: self.outbound_private,
            },
            seen_flush_interval: Duration::from_secs(self.heartbeat_flush_secs),
            provisioning: bulwark_server::provisioning::ProvisioningConfig {
                public_url: self.public_url.clone(),
                connect_wait: Duration::from_secs(self.provisioning_connect_wait_secs),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted_database_url(&self) -> String {
        redact(&self.database_url)
    }
}

/// The scanner where a build puts it: beside this program under its release name, or in the
/// cargo target directory this program was built in.
pub fn default_scanner() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [
        dir.join("bulwark-scanner-x86_64-linux-musl"),
        dir.join("../x86_64-unknown-linux-musl/scanner/bulwark-scanner"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        for (url, want) in [
            (
                "postgres://bulwark:s3cret@db:5432/b",
                "postgres://bulwark:***@db:5432/b",
            ),
            ("postgres://bulwark@db/b", "postgres://bulwark@db/b"),
            ("sqlite://data/b.db", "sqlite://data/b.db"),
        ] {
            assert_eq!(super::redact(url), want);
        }
    }
}
