//! `content list | show | lint`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use bulwark_content::Loaded;
use bulwark_core::Check;
use comfy_table::Table;

fn shipped() -> anyhow::Result<Vec<Loaded>> {
    bulwark_content::shipped().context("the shipped content is invalid")
}

pub fn list() -> anyhow::Result<ExitCode> {
    let mut table = Table::new();
    table.set_header(["template", "framework", "os", "checks", "by category"]);
    for t in shipped()? {
        let t = t.template;
        let mut by_category: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &t.checks {
            *by_category.entry(c.category.as_str()).or_default() += 1;
        }
        let categories: Vec<String> = by_category
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        table.add_row([
            t.id.clone(),
            format!("{:?}", t.framework),
            t.os.as_str().to_string(),
            t.checks.len().to_string(),
            categories.join("\n"),
        ]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}

pub fn show(id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let all = shipped()?;
    let Some(loaded) = all.iter().find(|t| t.template.id == id) else {
        let ids: Vec<&str> = all.iter().map(|t| t.template.id.as_str()).collect();
        bail!("no template {id:?}; shipped templates: {}", ids.join(", "));
    };
    let t = &loaded.template;
    if json {
        println!("{}", serde_json::to_string_pretty(t)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} — {} ({} checks)\n{}\n",
        t.id,
        t.name,
        t.checks.len(),
        t.benchmark
    );
    let mut table = Table::new();
    table.set_header(["id", "severity", "category", "kind", "title"]);
    for c in &t.checks {
        table.add_row([
            c.id.as_str(),
            c.severity.as_str(),
            c.category.as_str(),
            c.probe.kind(),
            c.title.as_str(),
        ]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}

pub fn lint(path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let templates = match path {
        Some(p) => match bulwark_content::load_path(p) {
            Ok(t) => vec![t],
            Err(problems) => {
                eprintln!("{problems}");
                eprintln!("{} problem(s)", problems.0.len());
                return Ok(ExitCode::from(2));
            }
        },
        None => match bulwark_content::shipped() {
            Ok(t) => t,
            Err(problems) => {
                eprintln!("{problems}");
                eprintln!("{} problem(s)", problems.0.len());
                return Ok(ExitCode::from(2));
            }
        },
    };
    let mut failures = 0;
    // A check included into several templates is tested once, where it is defined.
    let mut tested: HashSet<(String, u64)> = HashSet::new();
    for loaded in &templates {
        let t = &loaded.template;
        let cases: usize = t
            .checks
            .iter()
            .map(|c| c.tests.pass.len() + c.tests.fail.len())
            .sum();
        let untested: Vec<Check> = t
            .checks
            .iter()
            .zip(&loaded.locations)
            .filter(|(_, l)| tested.insert((l.file.clone(), l.line)))
            .map(|(c, _)| c.clone())
            .collect();
        for f in bulwark_engine::harness::run_all(t.os, &untested) {
            failures += 1;
            let at = loaded
                .location_of(&f.check_id)
                .map(|l| format!("{}:{}", l.file, l.line))
                .unwrap_or_default();
            eprintln!("{at}: check {}: {f}", f.check_id);
        }
        println!("{}: {} checks, {} test cases", t.id, t.checks.len(), cases);
    }
    if failures > 0 {
        eprintln!("{failures} test case(s) failed");
        return Ok(ExitCode::from(2));
    }
    println!("ok");
    Ok(ExitCode::SUCCESS)
}
