//! The `bulwark` binary: `serve` runs the server; `admin` creates organizations, users and
//! API tokens from the command line; `content import-scap` imports SCAP content.

mod bench;
mod bench_ssh;
mod config;
mod demo;
mod scap_cmd;

use std::io::Read;
use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use bulwark_core::Role;
use bulwark_server::auth;
use bulwark_store::{CredentialKind, Scope};
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConfigArgs};

#[derive(Parser)]
#[command(
    name = "bulwark",
    version,
    about = "Bulwark fleet security-compliance server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (API, web UI and scheduler).
    Serve(ConfigArgs),
    /// Try the product: the server on SQLite in ./bulwark-demo with an administrator, a demo
    /// fleet with history, and an agent scanning this machine.
    Demo(demo::DemoArgs),
    /// Measure ingest, dashboard, trends and export; prints figures.
    Bench(bench::BenchArgs),
    /// Print the API's OpenAPI 3.1 document (as served at /api/openapi.json).
    Openapi,
    /// Compliance content: import SCAP data streams.
    #[command(subcommand)]
    Content(ContentCommand),
    /// Manage organizations, users and tokens directly in the database.
    Admin {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(subcommand)]
        command: Admin,
    },
}

#[derive(Subcommand)]
enum ContentCommand {
    /// List an SCAP source data stream's profiles, or import one as a template.
    ImportScap(scap_cmd::ImportScapArgs),
}

#[derive(Subcommand)]
enum Admin {
    #[command(subcommand)]
    Org(OrgCommand),
    #[command(subcommand)]
    User(UserCommand),
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organization; prints its id and enrollment secret (shown only once).
    Create {
        #[arg(long)]
        name: String,
    },
    /// Replace an organization's enrollment secret; prints the new one.
    RotateSecret {
        #[arg(long)]
        org: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create(UserArgs),
}

#[derive(Args)]
struct UserArgs {
    #[arg(long)]
    username: String,
    /// viewer, user, provisioner or admin
    #[arg(long)]
    role: String,
    /// Organization ids the user sees; none: every organization (account-wide).
    #[arg(long = "org")]
    orgs: Vec<String>,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token for a user; prints it (shown only once).
    Create {
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(Config::load(&args)?).await,
        Command::Demo(args) => {
            init_logging();
            demo::run(args).await
        }
        Command::Admin { config, command } => admin(Config::load(&config)?, command).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Content(ContentCommand::ImportScap(args)) => scap_cmd::import_scap(args).await,
        Command::Openapi => {
            println!("{:#}", bulwark_server::api::openapi_document());
            Ok(())
        }
    }
}

fn init_logging() {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BULWARK_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        // Colours only for a person at a terminal: a log file or a journal gets plain text.
        .with_ansi(std::io::stdout().is_terminal())
        .init();
}

async fn serve(config: Config) -> Result<()> {
    init_logging();
    let store = config.open_store().await?;
    let seeded = bulwark_server::seed::system_templates(store.as_ref()).await?;
    tracing::info!(templates = seeded.templates, updated = ?seeded.updated, "system templates ready");
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, database = %config.redacted_database_url(), "bulwark listening");
    println!("bulwark listening on http://{addr}");
    if store.list_users(&Scope::All).await?.is_empty() {
        println!(
            "no users yet: create an administrator with\n  echo 'a long password' | bulwark admin user create --username admin --role admin"
        );
    }
    serve_on(listener, store, &config).await
}

/// The server with its scheduler and presence tracking on a bound listener, until Ctrl-C.
pub(crate) async fn serve_on(
    listener: tokio::net::TcpListener,
    store: std::sync::Arc<dyn bulwark_store::Store>,
    config: &Config,
) -> Result<()> {
    serve_state(
        listener,
        bulwark_server::AppState::new(store, config.server_config()?),
    )
    .await
}

pub(crate) async fn serve_state(
    listener: tokio::net::TcpListener,
    state: bulwark_server::AppState,
) -> Result<()> {
    let commands = bulwark_server::commands::flag_existing(state.store.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if commands > 0 {
        tracing::warn!(
            checks = commands,
            "custom checks run commands (listed above)"
        );
    }
    tokio::spawn(bulwark_server::scheduler::run(state.clone()));
    tokio::spawn(bulwark_server::scheduler::expire_jobs(state.clone()));
    tokio::spawn(bulwark_server::agentless::run(state.clone()));
    tokio::spawn(bulwark_server::provisioning::reconcile::run(state.clone()));
    tokio::spawn(bulwark_server::presence::run(
        state.store.clone(),
        state.presence.clone(),
        state.config.seen_flush_interval,
    ));
    // After Ctrl-C, requests in flight get the shutdown grace (a second): agents' job long
    // polls would otherwise hold the server for their whole wait; they poll again later.
    let limits = state.config.connections;
    let (store, presence) = (state.store.clone(), state.presence.clone());
    bulwark_server::listen::serve(
        listener,
        bulwark_server::app(state),
        limits,
        stop_requested(),
    )
    .await?;
    // Heartbeat times wait in memory for the next batch (seconds); a clean stop writes them.
    // A crash loses at most that interval of them, which the next heartbeat makes good.
    if let Err(e) = presence.flush(store.as_ref()).await {
        tracing::warn!(error = %e, "could not write the last heartbeat times");
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM from a service manager or container runtime (what `systemctl stop` and
/// `docker stop` send): either one stops the server cleanly.
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn admin(config: Config, command: Admin) -> Result<()> {
    let store = config.open_store().await?;
    match command {
        Admin::Org(OrgCommand::Create { name }) => {
            let secret = auth::new_secret("bwe_");
            let org = store
                .create_org(name.trim(), &auth::hash_secret(&secret))
                .await?;
            println!("org_id: {}\nenrollment_secret: {secret}", org.id);
        }
        Admin::Org(OrgCommand::RotateSecret { org }) => {
            let secret = auth::new_secret("bwe_");
            store
                .set_org_secret(&Scope::All, &org, &auth::hash_secret(&secret))
                .await?;
            println!("org_id: {org}\nenrollment_secret: {secret}");
        }
        Admin::User(UserCommand::Create(u)) => {
            let role = Role::parse(&u.role).with_context(|| {
                format!(
                    "unknown role {:?}: use viewer, user, provisioner or admin",
                    u.role
                )
            })?;
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.chars().count() < 12 {
                bail!("the password needs at least 12 characters");
            }
            for org in &u.orgs {
                store
                    .get_org(&Scope::All, org)
                    .await
                    .with_context(|| format!("organization {org}"))?;
            }
            let hash = auth::hash_password(password).map_err(|e| anyhow::anyhow!("{e}"))?;
            let orgs = (!u.orgs.is_empty()).then_some(u.orgs.as_slice());
            let user = store.create_user(&u.username, &hash, role, orgs).await?;
            println!("user_id: {}\nrole: {}", user.id, role.as_str());
        }
        Admin::Token(TokenCommand::Create { user, name }) => {
            let (found, _) = store
                .user_by_name(&user)
                .await?
                .with_context(|| format!("no user named {user:?}"))?;
            let token = auth::new_secret("bwt_");
            store
                .add_credential(
                    &found.id,
                    &auth::hash_secret(&token),
                    CredentialKind::ApiToken,
                    &name,
                    None,
                )
                .await?;
            println!("token: {token}");
        }
    }
    Ok(())
}
