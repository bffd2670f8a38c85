//! Reading templates from YAML: a template directory (template.yaml + checks/*.yaml), a single
//! template file with inline checks, or a bare list of checks (for linting one file).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

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

/// Parses a template from text (a single file with metadata and inline checks). Includes
/// resolve against nothing: a template that includes others is loaded with `load_path`.
pub fn load_str(file: &str, text: &str) -> Result<Loaded, Problems> {
    let parsed = parse_template(&Source {
        meta_file: file.to_string(),
        meta_text: text.to_string(),
        files: Vec::new(),
    })
    .map_err(Problems)?;
    let mut set = TemplateSet::default();
    set.add(file.to_string(), Ok(parsed));
    set.assemble(file).map_err(Problems)
}

/// One template's files as text: its metadata file and its check files (name, text).
pub(crate) struct Source {
    pub meta_file: String,
    pub meta_text: String,
    pub files: Vec<(String, String)>,
}

impl layout::Item for (Check, Location) {
    fn id(&self) -> &str {
        &self.0.id
    }
    fn place(&self) -> Option<(String, u64)> {
        Some((self.1.file.clone(), self.1.line))
    }
}

/// A template's own part (without its includes), parsed and validated.
pub(crate) struct Parsed {
    own: Loaded,
    unit: layout::Unit<(Check, Location)>,
}

fn own_template(meta: TemplateFile, meta_file: &str, extra: Vec<(Check, Location)>) -> Parsed {
    let mut meta = meta;
    let mut pairs = located(meta_file, 0, std::mem::take(&mut meta.checks));
    pairs.extend(extra);
    let unit = meta.unit(meta_file, pairs.clone());
    let (checks, locations): (Vec<Check>, Vec<Location>) = pairs.into_iter().unzip();
    Parsed {
        own: Loaded {
            template: meta.into_template(checks),
            locations,
        },
        unit,
    }
}

/// Parses and validates a template's metadata file and check files, collecting the problems
/// of every file before giving up.
pub(crate) fn parse_template(src: &Source) -> Result<Parsed, Vec<Problem>> {
    let meta: TemplateFile = serde_saphyr::from_str(&src.meta_text)
        .map_err(|e| vec![yaml_problem(&src.meta_file, &src.meta_text, 0, &e)])?;
    let mut problems = Vec::new();
    let mut extra = Vec::new();
    for (name, text) in &src.files {
        match parse_check_list(name, text) {
            Ok(cf) => extra.extend(cf.checks),
            Err(p) => problems.extend(p),
        }
    }
    let parsed = own_template(meta, &src.meta_file, extra);
    problems.extend(validate(&parsed.own, &src.meta_file));
    if problems.is_empty() {
        Ok(parsed)
    } else {
        Err(problems)
    }
}

/// Templates that may include each other, by name (the directory name; an included template's
/// id must equal it). Those that did not parse are remembered with their problems.
#[derive(Default)]
pub(crate) struct TemplateSet {
    parsed: BTreeMap<String, Parsed>,
    broken: BTreeMap<String, Vec<Problem>>,
    /// Every template that an include could name, for "not a template" problems.
    available: Vec<String>,
}

impl TemplateSet {
    pub fn add(&mut self, name: String, parsed: Result<Parsed, Vec<Problem>>) {
        match parsed {
            Ok(p) => {
                self.parsed.insert(name, p);
            }
            Err(problems) => {
                self.broken.insert(name, problems);
            }
        }
    }

    /// The templates an include could name (template directories of the same directory).
    pub fn set_available(&mut self, mut names: Vec<String>) {
        names.sort();
        self.available = names;
    }

    pub fn contains(&self, name: &str) -> bool {
        self.parsed.contains_key(name) || self.broken.contains_key(name)
    }

    /// The names of the templates that `name` includes, directly.
    pub fn includes_of(&self, name: &str) -> Vec<String> {
        self.parsed
            .get(name)
            .map(|p| p.unit.includes.iter().map(|(i, _)| i.clone()).collect())
            .unwrap_or_default()
    }

    /// Template `name` with its includes resolved (see `layout::resolve`). Problems of
    /// included templates that did not parse are reported with theirs.
    pub fn assemble(&self, name: &str) -> Result<Loaded, Vec<Problem>> {
        if let Some(problems) = self.broken.get(name) {
            return Err(problems.clone());
        }
        let Some(target) = self.parsed.get(name) else {
            return Err(Vec::new());
        };
        let units: BTreeMap<String, layout::Unit<(Check, Location)>> = self
            .parsed
            .iter()
            .map(|(k, p)| {
                let u = &p.unit;
                (
                    k.clone(),
                    layout::Unit {
                        id: u.id.clone(),
                        file: u.file.clone(),
                        os: u.os,
                        includes: u.includes.clone(),
                        exclude: u.exclude.clone(),
                        checks: u.checks.clone(),
                    },
                )
            })
            .collect();
        match layout::resolve(name, &units) {
            Ok(pairs) => {
                let (checks, locations): (Vec<Check>, Vec<Location>) = pairs.into_iter().unzip();
                let mut template = target.own.template.clone();
                template.checks = checks;
                Ok(Loaded {
                    template,
                    locations,
                })
            }
            Err(include_problems) => {
                let mut problems = Vec::new();
                for p in include_problems {
                    match p.missing.as_deref().and_then(|m| self.broken.get(m)) {
                        // The included template exists but is broken: its own problems say why.
                        Some(theirs) => problems.extend(theirs.iter().cloned()),
                        None => {
                            let mut message = p.message;
                            if p.missing.is_some() {
                                let others: Vec<&str> = self
                                    .available
                                    .iter()
                                    .map(String::as_str)
                                    .filter(|a| *a != name)
                                    .collect();
                                message.push_str(&format!(
                                    " (templates there: {})",
                                    if others.is_empty() {
                                        "none".to_string()
                                    } else {
                                        others.join(", ")
                                    }
                                ));
                            }
                            problems.push(Problem {
                                file: p.file,
                                line: p.line,
                                check: p.check,
                                message,
                            })
                        }
                    }
                }
                problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
                problems.dedup();
                Err(problems)
            }
        }
    }
}

fn source_of_dir(dir: &Path) -> Result<Source, Problem> {
    let meta_path = layout::metadata_file(dir);
    let meta_text = read(&meta_path)?;
    let mut files = Vec::new();
    for f in layout::check_files(dir) {
        files.push((f.display().to_string(), read(&f)?));
    }
    Ok(Source {
        meta_file: meta_path.display().to_string(),
        meta_text,
        files,
    })
}

/// Adds the template directories that `name` includes, transitively, from `siblings` (the
/// directory that holds the templates).
fn add_included(set: &mut TemplateSet, name: &str, siblings: &Path) {
    let mut queue = set.includes_of(name);
    while let Some(inc) = queue.pop() {
        let dir = siblings.join(&inc);
        if set.contains(&inc) || inc.contains(['/', '\\']) || inc.starts_with('.') {
            continue;
        }
        if !layout::metadata_file(&dir).is_file() {
            continue;
        }
        set.add(
            inc.clone(),
            source_of_dir(&dir)
                .map_err(|p| vec![p])
                .and_then(|s| parse_template(&s)),
        );
        queue.extend(set.includes_of(&inc));
    }
}

/// Loads content from a path: a template directory, a template file, or a list of checks
/// (which is given a placeholder template so that it can be linted on its own). Included
/// templates are the template directories next to PATH (in PATH's parent directory).
pub fn load_path(path: &Path) -> Result<Loaded, Problems> {
    let siblings = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let siblings = if siblings.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        siblings
    };
    let mut set = TemplateSet::default();
    set.set_available(
        fs::read_dir(&siblings)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| layout::metadata_file(&e.path()).is_file())
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect()
            })
            .unwrap_or_default(),
    );
    if path.is_dir() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| path.display().to_string());
        let src = source_of_dir(path).map_err(|p| Problems(vec![p]))?;
        set.add(name.clone(), parse_template(&src));
        add_included(&mut set, &name, &siblings);
        return set.assemble(&name).map_err(Problems);
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
            includes: Vec::new(),
            exclude: Vec::new(),
            checks: Vec::new(),
        };
        let parsed = own_template(meta, &file, cf.checks);
        let problems = validate(&parsed.own, &file);
        return if problems.is_empty() {
            Ok(parsed.own)
        } else {
            Err(Problems(problems))
        };
    }
    let parsed = parse_template(&Source {
        meta_file: file.clone(),
        meta_text: text,
        files: Vec::new(),
    });
    // A file's key cannot clash with a directory name: it holds a path.
    set.add(file.clone(), parsed);
    add_included(&mut set, &file, &siblings);
    set.assemble(&file).map_err(Problems)
}
