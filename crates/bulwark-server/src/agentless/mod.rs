//! Agentless scanning: hosts without an agent, reached by the server over SSH.
//!
//! A host is registered with a connection (address, port, user, a named credential of its
//! organization, `none | sudo`). Its host key is pinned: the first contact records the key the
//! host offers as pending, and nothing runs there until a user approves that exact key; a
//! different key later is a hard failure until approved again (`check`).
//!
//! Scans travel like an agent's: the scheduler and on-demand triggers queue a job; this
//! replica's SSH workers claim it under a lease (`SshStore::claim_ssh_jobs`), upload the
//! static scanner and the job's checks into a fresh directory on the host, verify the
//! scanner's SHA-256 there, run it once under `timeout` (and `sudo -n`), remove the directory
//! whatever happened, and hand the answer to the same ingest as an agent's results (`scan`).
//! At most `max_concurrent` scans run at once per replica.

mod check;
pub(crate) mod connect;
mod scan;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{Notify, OnceCell, Semaphore};

use crate::AppState;
pub use check::{SshCheckReport, SudoAccess, check_host};
pub use scan::run_job;

/// Settings of agentless scanning.
#[derive(Debug, Clone)]
pub struct AgentlessConfig {
    /// The static x86_64 Linux scanner (`bulwark-scanner` built for x86_64-unknown-linux-musl).
    pub scanner: Option<PathBuf>,
    /// Scans running at once on this replica.
    pub max_concurrent: usize,
    /// How long one scan may take on the host, upload and clean-up included.
    pub scan_deadline: Duration,
    pub timeouts: bulwark_ssh::Timeouts,
    /// How often every agentless host is checked (which keeps its online state current).
    pub check_every: Duration,
    /// How often idle workers look for queued jobs.
    pub poll: Duration,
}

impl Default for AgentlessConfig {
    fn default() -> Self {
        AgentlessConfig {
            scanner: None,
            max_concurrent: 16,
            scan_deadline: Duration::from_secs(15 * 60),
            timeouts: bulwark_ssh::Timeouts::default(),
            check_every: Duration::from_secs(30 * 60),
            poll: Duration::from_secs(2),
        }
    }
}

/// The scanner program as uploaded: its bytes and their SHA-256.
#[derive(Debug)]
pub struct Scanner {
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// This replica's agentless runtime: the scan slots, the scanner, and a bell that wakes the
/// workers when a job is queued.
#[derive(Debug)]
pub struct Agentless {
    pub slots: Arc<Semaphore>,
    scanner: OnceCell<Result<Arc<Scanner>, String>>,
    pub wake: Notify,
}

impl Agentless {
    pub fn new(config: &AgentlessConfig) -> Self {
        Agentless {
            slots: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            scanner: OnceCell::new(),
            wake: Notify::new(),
        }
    }

    /// The scanner, read once; the error says how to provide it.
    pub async fn scanner(&self, config: &AgentlessConfig) -> Result<Arc<Scanner>, String> {
        self.scanner
            .get_or_init(|| async {
                let Some(path) = &config.scanner else {
                    return Err(
                        "this server has no scanner to upload: build it with `cargo build --profile scanner --target x86_64-unknown-linux-musl -p bulwark-scanner` and set BULWARK_SCANNER to the file".to_string(),
                    );
                };
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|e| format!("the scanner {}: {e}", path.display()))?;
                let sha256 = hex::encode(Sha256::digest(&bytes));
                Ok(Arc::new(Scanner { bytes, sha256 }))
            })
            .await
            .clone()
    }
}

/// The workers: claim queued jobs of agentless hosts while slots are free, and check every
/// agentless host once per `check_every`. Runs until the process ends.
pub async fn run(state: AppState) {
    let config = state.config.agentless.clone();
    let mut next_checks = tokio::time::Instant::now();
    loop {
        let free = state.agentless.slots.available_permits();
        if free > 0 {
            let now = bulwark_store::now();
            match state
                .store
                .claim_ssh_jobs(now, lease_secs(&config), free as i64)
                .await
            {
                Ok(jobs) => {
                    for job in jobs {
                        let Ok(permit) = state.agentless.slots.clone().try_acquire_owned() else {
                            break;
                        };
                        let state = state.clone();
                        tokio::spawn(async move {
                            run_job(&state, job).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot claim agentless jobs"),
            }
        }
        if tokio::time::Instant::now() >= next_checks {
            next_checks = tokio::time::Instant::now() + config.check_every;
            let before = bulwark_store::now() - config.check_every.as_secs() as i64;
            match state.store.ssh_hosts_due_check(before, 100).await {
                Ok(hosts) => {
                    for host in hosts {
                        let state = state.clone();
                        tokio::spawn(async move {
                            if let Err(e) = check_host(&state, &host).await {
                                tracing::warn!(host = %host, error = %e, "agentless check failed");
                            }
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot list agentless hosts to check"),
            }
        }
        let _ = tokio::time::timeout(config.poll, state.agentless.wake.notified()).await;
    }
}

/// A claimed job stays this replica's for the scan's deadline and a minute more.
fn lease_secs(config: &AgentlessConfig) -> i64 {
    config.scan_deadline.as_secs() as i64 + 60
}
