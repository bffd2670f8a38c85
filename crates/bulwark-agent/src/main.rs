//! `bulwark-agent`: the daemon that enrolls with a server and runs its jobs, a local scan of a
//! host (or a root filesystem) against a template, content tooling, and the fleet simulator.
//! Exit codes: 0 ok, 1 score below `--fail-under`, 2 error.

mod content_cmd;
mod daemon;
mod report;
mod scan_cmd;
mod simulate;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "bulwark-agent",
    version,
    about = "Bulwark agent: compliance scans and content tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the agent: enroll, heartbeat, sync inventory, run the server's jobs.
    Run {
        #[arg(long, default_value = daemon::config::DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Enroll with the server once and exit (the daemon also enrolls by itself).
    Enroll {
        #[arg(long, default_value = daemon::config::DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Write the configuration, the state directory and a systemd unit.
    Install(daemon::install::InstallArgs),
    /// Simulate a fleet of agents against a server and report latencies and lost results.
    Simulate(simulate::SimulateArgs),
    /// Scan this host, or a root filesystem, against a template.
    Scan(scan_cmd::ScanArgs),
    /// Print the inventory of this host, or of a root filesystem, as JSON: what the agent
    /// sends to the server.
    Inventory {
        /// `/` for this host, or an extracted image or evidence root.
        #[arg(long, default_value = "/")]
        root: PathBuf,
    },
    /// Perform one host action here, as a job from the server would (JSON, e.g.
    /// '{"type": "service", "name": "ssh", "action": "restart"}'), and print the report as
    /// JSON. Scripts and password actions come only from the server.
    Action {
        /// The action in the API's JSON form.
        action: String,
    },
    /// List, show and lint compliance content.
    Content {
        #[command(subcommand)]
        command: ContentCommand,
    },
}

#[derive(Subcommand)]
enum ContentCommand {
    /// The shipped templates with their check counts, in all and per category.
    List {
        /// `markdown`: the coverage tables of docs/content.md.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// One shipped template with its checks.
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
        format: ShowFormat,
    },
    /// Validate content and run every check's inline test cases.
    Lint {
        /// A template directory, template file or check list; default: the shipped templates.
        path: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Table,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum ShowFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run { config } => daemon_main(|rt| {
            let config = daemon::config::AgentConfig::load(&config)?;
            rt.block_on(daemon::run(config))?;
            Ok(ExitCode::SUCCESS)
        }),
        Command::Enroll { config } => daemon_main(|rt| {
            let config = daemon::config::AgentConfig::load(&config)?;
            let state = daemon::state::State::open(&config.state_dir)?;
            let http = daemon::client::http_client();
            match rt.block_on(daemon::enroll_once(&config, &state, &http)) {
                Ok(e) => {
                    println!("enrolled: agent {} is host {}", state.agent_id, e.host_id);
                    Ok(ExitCode::SUCCESS)
                }
                Err(daemon::EnrollError::NeedsOperator(m) | daemon::EnrollError::Retry(m)) => {
                    anyhow::bail!(m)
                }
            }
        }),
        Command::Install(args) => daemon::install::install(args).map(|()| ExitCode::SUCCESS),
        Command::Simulate(args) => daemon_main(|rt| {
            rt.block_on(simulate::run(args))?;
            Ok(ExitCode::SUCCESS)
        }),
        Command::Scan(args) => scan_cmd::run(args),
        Command::Inventory { root } => print_inventory(&root),
        Command::Action { action } => daemon_main(|rt| {
            let action: bulwark_core::HostAction = serde_json::from_str(&action)
                .map_err(|e| anyhow::anyhow!("not a host action: {e}"))?;
            if action.runs_caller_code()
                || matches!(
                    action,
                    bulwark_core::HostAction::CreateUser { .. }
                        | bulwark_core::HostAction::ResetPassword { .. }
                )
            {
                anyhow::bail!(
                    "scripts and password actions come only from the server, sealed and signed"
                );
            }
            let report = rt.block_on(daemon::actions::perform(
                std::path::Path::new("/"),
                action,
                None,
            ));
            println!(
                "{}",
                serde_json::to_string_pretty(&report.clone().into_wire())?
            );
            Ok(if report.succeeded {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }),
        Command::Content { command } => match command {
            ContentCommand::List { format } => {
                content_cmd::list(matches!(format, ListFormat::Markdown))
            }
            ContentCommand::Show { id, format } => {
                content_cmd::show(&id, matches!(format, ShowFormat::Json))
            }
            ContentCommand::Lint { path } => content_cmd::lint(path.as_deref()),
        },
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn print_inventory(root: &std::path::Path) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    let inventory = bulwark_engine::inventory::collect(&bulwark_engine::host::HostRoot::at(root))
        .with_context(|| format!("cannot read the inventory of {}", root.display()))?;
    println!("{}", serde_json::to_string_pretty(&inventory)?);
    Ok(ExitCode::SUCCESS)
}

/// Logging to standard error (RUST_LOG, default info) and a runtime for the daemon commands.
fn daemon_main(
    body: impl FnOnce(&tokio::runtime::Runtime) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    body(&rt)
}
