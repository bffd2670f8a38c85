//! `bulwark-agent scan`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use bulwark_engine::{HostRoot, ScanReport};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::report;

#[derive(Args)]
pub struct ScanArgs {
    /// A shipped template id.
    #[arg(long, conflicts_with = "file", default_value = "cis-linux-l1")]
    template: String,
    /// A template directory or file instead of a shipped template.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Root filesystem to scan: `/` for this host, or an extracted image.
    #[arg(long, default_value = "/")]
    root: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the report here instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Exit with 1 when the score is below this (0-100).
    #[arg(long, value_parser = parse_score)]
    fail_under: Option<f64>,
    /// Print the slowest checks to standard error.
    #[arg(long)]
    timings: bool,
}

fn parse_score(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a score between 0 and 100")),
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Junit,
    Html,
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let template = match &args.file {
        Some(path) => {
            bulwark_content::load_path(path)
                .with_context(|| format!("cannot load {}", path.display()))?
                .template
        }
        None => match bulwark_content::shipped_template(&args.template)
            .context("the shipped content is invalid")?
        {
            Some(t) => t,
            None => bail!(
                "no shipped template {:?}; see `bulwark-agent content list`",
                args.template
            ),
        },
    };
    // A live Windows host is scanned through the evidence its own tools print.
    let live_windows = cfg!(windows)
        && template.os == bulwark_core::OsKind::Windows
        && args.root == std::path::Path::new("/");
    let evidence = if live_windows {
        Some(
            bulwark_engine::windows::live::LiveEvidence::record(&template)
                .map_err(anyhow::Error::msg)
                .context("cannot record the Windows evidence")?,
        )
    } else {
        None
    };
    let host = match &evidence {
        Some(e) => e.root(),
        None => HostRoot::at(&args.root),
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(template.checks.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let report = bulwark_engine::scan(host, &template, |done, _, id| {
        if let Some(bar) = &bar {
            bar.set_position(done as u64);
            bar.set_message(id.to_string());
        }
    })
    .with_context(|| format!("cannot scan {}", args.root.display()))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let rendered = match args.format {
        Format::Table => report::table(&report),
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Junit => report::junit(&report),
        Format::Html => report::html(&report, &template)?,
    };
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(rendered.as_bytes())?,
    }
    if args.timings {
        eprint!("{}", report::timings(&report, 10));
    }
    Ok(exit_code(&report, args.fail_under))
}

fn exit_code(report: &ScanReport, fail_under: Option<f64>) -> ExitCode {
    match fail_under {
        Some(threshold) if !report.summary.meets(threshold) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}
