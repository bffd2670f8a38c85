//! `bulwark-agent`: scan a host (or a root filesystem) against a template, and work with
//! content. Exit codes: 0 ok, 1 score below `--fail-under`, 2 error.

mod content_cmd;
mod report;
mod scan_cmd;

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
    /// Scan this host, or a root filesystem, against a template.
    Scan(scan_cmd::ScanArgs),
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
        Command::Scan(args) => scan_cmd::run(args),
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
