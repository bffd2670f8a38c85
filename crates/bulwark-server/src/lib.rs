//! Bulwark's server: the JSON API (`/api/v1/...`) and the web UI, authentication and roles,
//! ingest of scan results, the scheduler and notifications, over any [`bulwark_store::Store`].

pub mod agent_auth;
pub mod agentless;
pub mod api;
pub mod audit;
pub mod auth;
pub mod body;
pub mod checks_cache;
pub mod commands;
pub mod error;
pub mod ingest;
pub mod listen;
pub mod nonces;
pub mod notify;
pub mod outbound;
pub mod presence;
pub mod provisioning;
pub mod scheduler;
pub mod secrets;
pub mod seed;
pub mod server_checks;
pub mod throttle;
pub mod web;

use std::sync::Arc;
use std::time::Duration;

use bulwark_store::Store;

/// Settings of a server process (see the `bulwark` binary for how they are read).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub scheduler_interval: Duration,
    /// Hosts per policy and tick.
    pub sweep_limit: i64,
    pub warning_below: f64,
    pub critical_below: f64,
    pub session_hours: i64,
    /// Names this replica in the scheduler lease.
    pub replica_id: String,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Largest raw upload (SCAP data streams, compressed ARF files); the largest SSG data
    /// stream is 24 MB.
    pub upload_limit: usize,
    /// What agents are told: beat every `heartbeat_secs`, sync inventory every `inventory_secs`.
    pub heartbeat_secs: u64,
    pub inventory_secs: u64,
    /// How long a delivered job is the agent's before it is delivered again.
    pub job_lease_secs: i64,
    /// Deliveries after which an unfinished job fails.
    pub max_deliveries: i64,
    /// The longest a job long-poll waits.
    pub max_poll_secs: u64,
    /// How often buffered heartbeat times are written.
    pub seen_flush_interval: Duration,
    /// Open connections, header deadline and shutdown grace (see `listen`).
    pub connections: listen::ConnectionLimits,
    /// Which addresses the server may call (webhooks); see `outbound`.
    pub outbound: outbound::OutboundPolicy,
    /// Agentless scanning over SSH.
    pub agentless: agentless::AgentlessConfig,
    /// Seals the secrets the server keeps (SSH credentials); without it none can be stored.
    pub secrets: Option<Arc<secrets::SecretBox>>,
    /// The provisioning gate.
    pub provisioning: provisioning::ProvisioningConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            scheduler_interval: Duration::from_secs(30 * 60),
            sweep_limit: 50,
            warning_below: 70.0,
            critical_below: 50.0,
            session_hours: 12,
            replica_id: bulwark_store::new_id(),
            body_limit: 2 * 1024 * 1024,
            upload_limit: 64 * 1024 * 1024,
            heartbeat_secs: 60,
            inventory_secs: 300,
            job_lease_secs: 600,
            max_deliveries: 5,
            max_poll_secs: 30,
            seen_flush_interval: Duration::from_secs(5),
            connections: listen::ConnectionLimits::default(),
            outbound: outbound::OutboundPolicy::default(),
            agentless: agentless::AgentlessConfig::default(),
            secrets: None,
            provisioning: provisioning::ProvisioningConfig::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    /// Outgoing requests (webhooks); no redirects, so a receiver cannot send us elsewhere.
    pub http: reqwest::Client,
    pub checks: Arc<checks_cache::ChecksCache>,
    pub presence: Arc<presence::Presence>,
    /// Signed requests' nonces, written in batches.
    pub nonces: Arc<nonces::NonceLedger>,
    /// The job-signing key, read from (or first written to) the store on first use.
    pub job_key: Arc<tokio::sync::OnceCell<bulwark_protocol::AgentKey>>,
    /// This replica's agentless scan slots and scanner.
    pub agentless: Arc<agentless::Agentless>,
    /// Wakes the provisioning reconciler (a delivery arrived, a scan ended).
    pub provisioning_wake: Arc<tokio::sync::Notify>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Self {
        let http = outbound::client(config.outbound);
        AppState {
            agentless: Arc::new(agentless::Agentless::new(&config.agentless)),
            nonces: Arc::new(nonces::NonceLedger::new(store.clone())),
            store,
            config: Arc::new(config),
            http,
            checks: Arc::default(),
            presence: Arc::default(),
            job_key: Arc::default(),
            provisioning_wake: Arc::default(),
        }
    }
}

impl AppState {
    /// A job was queued for the host: wake its agent's long poll, or this replica's SSH
    /// workers for an agentless host (whichever waits; the other bell rings unheard).
    pub fn jobs_ready(&self, host_id: &str) {
        self.presence.jobs_ready(host_id);
        self.agentless.wake.notify_one();
    }
}

/// How long a client may take to send a request's body once its headers arrived.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The whole HTTP application: the JSON API and the web UI. No body may exceed the upload
/// limit (a declared `Content-Length` over it is refused before anything is read) nor take
/// longer than [`BODY_TIMEOUT`] to arrive; routes set tighter limits of their own.
pub fn app(state: AppState) -> axum::Router {
    let largest = state.config.upload_limit.max(state.config.body_limit);
    api::router(state.clone(), web::router(state))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            BODY_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn_with_state(
            largest,
            refuse_declared_oversize,
        ))
}

/// A body declared larger than any route accepts is refused before a byte of it is read;
/// each route's extractor bounds what it reads of the rest.
async fn refuse_declared_oversize(
    axum::extract::State(limit): axum::extract::State<usize>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return error::AppError::TooLarge.into_response();
    }
    next.run(req).await
}
