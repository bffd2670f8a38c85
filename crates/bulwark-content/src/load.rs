//! Reading templates from YAML: a template directory (template.yaml + checks/*.yaml), a single
//! template file with inline checks, or a bare list of checks (for linting one file).

use std::fs;
use std::path::Path;

use bulwark_core::{Check, Framework, OsKind, Template};
use serde_saphyr::Spanned;

use crate::layout;
use crate::validate::validate;
use crate::{Problem, Problems};

/// Where a check is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: u64,
}

/// A template with the location of each of its checks (same order as `template.checks`).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub template: Template,
    pub locations: Vec<Location>,
}

impl Loaded {
    pub fn location_of(&self, check_id: &str) -> Option<&Location> {
        self.template
            .checks
            .iter()
            .position(|c| c.id == check_id)
            .map(|i| &self.locations[i])
    }
}

type TemplateFile = layout::TemplateFile<Spanned<Check>>;

/// A parsed list of checks with their locations.
pub struct CheckFile {
    pub checks: Vec<(Check, Location)>,
}

fn yaml_problem(file: &str, text: &str, line_offset: u64, err: &serde_saphyr::Error) -> Problem {
    let line = err.location().map(|l| l.line() + line_offset);
    // The check is the nearest `id:` at or above the error.
    let check = line.and_then(|l| {
        text.lines()
            .take((l - line_offset) as usize)
            .collect::<Vec<_>>()
            .iter()
            .rev()
            .find_map(|s| {
                s.trim_start_matches("- ")
                    .trim()
                    .strip_prefix("id:")
                    .map(|v| v.trim().trim_matches('"').to_string())
            })
    });
    let message = clean_message(err.to_string().lines().next().unwrap_or("invalid YAML"));
    Problem {
        file: file.to_string(),
        line,
        check,
        message,
    }
}

/// Drops the parser's own `error: line L column C:` prefix; the problem carries the location.
fn clean_message(raw: &str) -> String {
    let s = raw.strip_prefix("error: ").unwrap_or(raw);
    match s
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((position, message)) if position.contains("column") => message.to_string(),
        _ => s.to_string(),
    }
}

fn located(file: &str, offset: u64, checks: Vec<Spanned<Check>>) -> Vec<(Check, Location)> {
    checks
        .into_iter()
        .map(|s| {
            (
                s.value,
                Location {
                    file: file.to_string(),
                    line: s.referenced.line() + offset,
                },
            )
        })
        .collect()
}

/// Parses a list of checks. On errors, each top-level item is parsed on its own so that every
/// broken check is reported, not only the first.
pub fn parse_check_list(file: &str, text: &str) -> Result<CheckFile, Vec<Problem>> {
    match serde_saphyr::from_str::<Vec<Spanned<Check>>>(text) {
        Ok(checks) => Ok(CheckFile {
            checks: located(file, 0, checks),
        }),
        Err(whole) => {
            let mut problems = Vec::new();
            let lines: Vec<&str> = text.lines().collect();
            let starts: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.starts_with("- "))
                .map(|(i, _)| i)
                .collect();
            for (n, &start) in starts.iter().enumerate() {
                let end = starts.get(n + 1).copied().unwrap_or(lines.len());
                let chunk = lines[start..end].join("\n");
                if let Err(e) = serde_saphyr::from_str::<Vec<Spanned<Check>>>(&chunk) {
                    problems.push(yaml_problem(file, &chunk, start as u64, &e));
                }
            }
            if problems.is_empty() {
                problems.push(yaml_problem(file, text, 0, &whole));
            }
            Err(problems)
        }
    }
}

fn read(path: &Path) -> Result<String, Problem> {
    fs::read_to_string(path).map_err(|e| Problem {
        file: path.display().to_string(),
        line: None,
        check: None,
        message: e.to_string(),
    })
}

/// Parses a template from text (a single file with metadata and inline checks).
pub fn load_str(file: &str, text: &str) -> Result<Loaded, Problems> {
    let meta: TemplateFile = serde_saphyr::from_str(text)
        .map_err(|e| Problems(vec![yaml_problem(file, text, 0, &e)]))?;
    finish(meta, file, Vec::new())
}

fn finish(
    meta: TemplateFile,
    file: &str,
    extra: Vec<(Check, Location)>,
) -> Result<Loaded, Problems> {
    let mut meta = meta;
    let mut pairs = located(file, 0, std::mem::take(&mut meta.checks));
    pairs.extend(extra);
    let (checks, locations): (Vec<Check>, Vec<Location>) = pairs.into_iter().unzip();
    let loaded = Loaded {
        template: meta.into_template(checks),
        locations,
    };
    let problems = validate(&loaded, file);
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(Problems(problems))
    }
}

/// Builds a template from its metadata file and its check files (name, text), collecting the
/// problems of every file before giving up.
pub(crate) fn finish_embedded(
    meta_file: &str,
    meta_text: &str,
    files: &[(String, String)],
) -> Result<Loaded, Problems> {
    let meta: TemplateFile = serde_saphyr::from_str(meta_text)
        .map_err(|e| Problems(vec![yaml_problem(meta_file, meta_text, 0, &e)]))?;
    let mut problems = Vec::new();
    let mut extra = Vec::new();
    for (name, text) in files {
        match parse_check_list(name, text) {
            Ok(cf) => extra.extend(cf.checks),
            Err(p) => problems.extend(p),
        }
    }
    match (finish(meta, meta_file, extra), problems.is_empty()) {
        (Ok(loaded), true) => Ok(loaded),
        (Ok(_), false) => Err(Problems(problems)),
        (Err(Problems(more)), _) => {
            problems.extend(more);
            Err(Problems(problems))
        }
    }
}

/// Loads content from a path: a template directory, a template file, or a list of checks
/// (which is given a placeholder template so that it can be linted on its own).
pub fn load_path(path: &Path) -> Result<Loaded, Problems> {
    if path.is_dir() {
        let meta_path = layout::metadata_file(path);
        let meta_text = read(&meta_path).map_err(|p| Problems(vec![p]))?;
        let mut files = Vec::new();
        for f in layout::check_files(path) {
            files.push((
                f.display().to_string(),
                read(&f).map_err(|p| Problems(vec![p]))?,
            ));
        }
        return finish_embedded(&meta_path.display().to_string(), &meta_text, &files);
    }
    let file = path.display().to_string();
    let text = read(path).map_err(|p| Problems(vec![p]))?;
    if text.lines().any(|l| l.starts_with("- ")) && !text.lines().any(|l| l.starts_with("checks:"))
    {
        let cf = parse_check_list(&file, &text).map_err(Problems)?;
        let meta = TemplateFile {
            id: "lint".into(),
            name: "checks linted on their own".into(),
            framework: Framework::Custom,
            os: OsKind::Linux,
            version: "0".into(),
            benchmark: String::new(),
            checks: Vec::new(),
        };
        return finish(meta, &file, cf.checks);
    }
    load_str(&file, &text)
}
