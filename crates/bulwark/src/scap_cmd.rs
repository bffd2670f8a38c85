//! `bulwark content import-scap FILE [--profile ID --org ORG]`: without a profile, lists what
//! a source data stream offers; with one, imports it as the organization's template, exactly
//! as `POST /api/v1/compliance/templates/import-scap` does.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use bulwark_store::Scope;
use clap::Args;

use crate::config::{Config, ConfigArgs};

#[derive(Args)]
pub struct ImportScapArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// An SCAP 1.2/1.3 source data stream, e.g. /usr/share/xml/scap/ssg/content/ssg-ubuntu2204-ds.xml
    file: PathBuf,
    /// The profile to import (without it, the data stream's profiles are listed).
    #[arg(long)]
    profile: Option<String>,
    /// The organization the template belongs to (required with --profile).
    #[arg(long)]
    org: Option<String>,
    /// The template's name (default: benchmark and profile titles).
    #[arg(long)]
    name: Option<String>,
}

pub async fn import_scap(args: ImportScapArgs) -> Result<()> {
    let xml = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let what = args.file.display().to_string();
    let datastream =
        bulwark_scap::read_datastream(&xml).with_context(|| format!("{what} is not usable"))?;
    let Some(profile) = args.profile else {
        let contents = bulwark_scap::contents(&datastream)?;
        println!("data stream {what}\nsha256 {}", contents.digest);
        for b in &contents.benchmarks {
            println!("\nbenchmark {} ({})", b.id, b.title);
            println!(
                "  fits: {}",
                if b.fits.is_empty() {
                    "any system".into()
                } else {
                    b.fits.join(", ")
                }
            );
            for p in &b.profiles {
                println!("  {:>4} rules  {}  {}", p.rules, p.id, p.title);
            }
        }
        println!("\nimport one with: bulwark content import-scap {what} --profile ID --org ORG");
        return Ok(());
    };
    let Some(org) = args.org else {
        bail!("--org is required with --profile: the template belongs to an organization");
    };
    let file_name = args
        .file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("datastream.xml")
        .to_owned();
    let mut template = bulwark_scap::profile_template(&datastream, &profile, &file_name)?;
    if let Some(name) = args.name {
        template.name = name;
    }
    let store = Config::load(&args.config)?.open_store().await?;
    let summary = store
        .import_scap_template(&Scope::All, &org, &template, &file_name, &xml)
        .await?;
    println!("template_id: {}", summary.id);
    println!("name: {}", summary.name);
    println!("rules: {}", summary.check_count);
    Ok(())
}
