//! `content list | show | lint`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use bulwark_content::{LINUX_CATEGORIES, Loaded, WINDOWS_CATEGORIES};
use bulwark_core::{Check, Template};
use comfy_table::Table;

fn shipped() -> anyhow::Result<Vec<Loaded>> {
    bulwark_content::shipped().context("the shipped content is invalid")
}

/// Checks per category, in the documented order of the categories.
pub fn counts_by_category(template: &Template) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    for c in &template.checks {
        *counts
            .entry((category_rank(&c.category), c.category.as_str()))
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((_, name), n)| (name.to_string(), n))
        .collect()
}

/// Linux categories first, then the Windows ones, in the order docs/content-format.md lists
/// them; anything else after, by name.
fn category_rank(category: &str) -> usize {
    LINUX_CATEGORIES
        .iter()
        .chain(
            WINDOWS_CATEGORIES
                .iter()
                .filter(|c| !LINUX_CATEGORIES.contains(c)),
        )
        .position(|c| *c == category)
        .unwrap_or(usize::MAX)
}

pub fn list(markdown: bool) -> anyhow::Result<ExitCode> {
    let templates: Vec<Template> = shipped()?.into_iter().map(|l| l.template).collect();
    if markdown {
        print!("{}", coverage_markdown(&templates));
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new();
    table.set_header(["template", "framework", "os", "checks", "by category"]);
    for t in &templates {
        let categories: Vec<String> = counts_by_category(t)
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

fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The coverage of the shipped templates as Markdown: one table of the templates (the
/// benchmark each follows, its number of checks), one of checks per category and template.
pub fn coverage_markdown(templates: &[Template]) -> String {
    let mut out =
        String::from("| Template | Name | OS | Benchmark | Checks |\n|---|---|---|---|---:|\n");
    for t in templates {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            t.id,
            cell(&t.name),
            t.os.as_str(),
            cell(&t.benchmark),
            t.checks.len()
        ));
    }
    let counts: Vec<BTreeMap<String, usize>> = templates
        .iter()
        .map(|t| counts_by_category(t).into_iter().collect())
        .collect();
    let mut categories: Vec<&String> = counts.iter().flat_map(|c| c.keys()).collect();
    categories.sort_by_key(|c| (category_rank(c), c.to_string()));
    categories.dedup();
    out.push_str("\n| Category |");
    for t in templates {
        out.push_str(&format!(" `{}` |", t.id));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(templates.len()));
    out.push('\n');
    for category in categories {
        out.push_str(&format!("| {} |", cell(category)));
        for c in &counts {
            match c.get(category) {
                Some(n) => out.push_str(&format!(" {n} |")),
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
    out.push_str("| **Total** |");
    for t in templates {
        out.push_str(&format!(" **{}** |", t.checks.len()));
    }
    out.push('\n');
    out
}

pub fn show(id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let all = shipped()?;
    let Some(loaded) = all.iter().find(|t| t.template.id == id) else {
        let ids: Vec<&str> = all.iter().map(|t| t.template.id.as_str()).collect();
        bail!("no template {id:?}; shipped templates: {}", ids.join(", "));
    };
    let t = &loaded.template;
    if json {
        let mut value = serde_json::to_value(t)?;
        let counts: serde_json::Map<String, serde_json::Value> = counts_by_category(t)
            .into_iter()
            .map(|(k, n)| (k, n.into()))
            .collect();
        if let Some(object) = value.as_object_mut() {
            object.insert("check_count".into(), t.checks.len().into());
            object.insert("counts_by_category".into(), counts.into());
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
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
        for (check_id, failure) in case_failures(t.os, &untested) {
            failures += 1;
            let at = loaded
                .location_of(&check_id)
                .map(|l| format!("{}:{}", l.file, l.line))
                .unwrap_or_default();
            eprintln!("{at}: check {check_id}: {failure}");
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

/// The inline cases that fail, as (check id, what went wrong): each case is a root filesystem
/// built with owners and modes, which only a Unix host can build.
#[cfg(unix)]
fn case_failures(os: bulwark_core::OsKind, checks: &[Check]) -> Vec<(String, String)> {
    bulwark_engine::harness::run_all(os, checks)
        .into_iter()
        .map(|f| (f.check_id.clone(), f.to_string()))
        .collect()
}

#[cfg(not(unix))]
fn case_failures(_os: bulwark_core::OsKind, _checks: &[Check]) -> Vec<(String, String)> {
    eprintln!("note: inline test cases run on Unix hosts only; the content was validated");
    Vec::new()
}
