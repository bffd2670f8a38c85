//! The on-disk layout of a template (its metadata file, its check files), the shape of the
//! metadata file, and how a template's `includes` and `exclude` resolve into one list of
//! checks. Shared by the loader and by build.rs (which includes this file with `#[path]`, as a
//! build script cannot depend on its own crate), so that both resolve includes the same way.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use bulwark_core::{Check, Framework, OsKind, Template};
use serde::Deserialize;
use serde_saphyr::Spanned;

/// A template's metadata file, with inline checks of type `C` (plain, or with their spans).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateFile<C> {
    pub id: String,
    pub name: String,
    pub framework: Framework,
    pub os: OsKind,
    pub version: String,
    pub benchmark: String,
    /// Ids of sibling templates whose checks come first, in this order.
    #[serde(default = "Vec::new")]
    pub includes: Vec<Spanned<String>>,
    /// Ids of included checks to leave out.
    #[serde(default = "Vec::new")]
    pub exclude: Vec<Spanned<String>>,
    #[serde(default = "Vec::new")]
    pub checks: Vec<C>,
}

impl<C> TemplateFile<C> {
    /// The template with these metadata and `checks` (the inline ones, taken out first, and
    /// those of the check files).
    pub fn into_template(self, checks: Vec<Check>) -> Template {
        Template {
            id: self.id,
            name: self.name,
            framework: self.framework,
            os: self.os,
            version: self.version,
            benchmark: self.benchmark,
            engine: bulwark_core::Engine::Native,
            checks,
        }
    }

    /// The template's own part, for include resolution; `file` is the metadata file's name.
    pub fn unit<D>(&self, file: &str, checks: Vec<D>) -> Unit<D> {
        let spanned = |v: &[Spanned<String>]| {
            v.iter()
                .map(|s| (s.value.clone(), s.referenced.line()))
                .collect()
        };
        Unit {
            id: self.id.clone(),
            file: file.to_string(),
            os: self.os,
            includes: spanned(&self.includes),
            exclude: spanned(&self.exclude),
            checks,
        }
    }
}

/// The metadata file of a template directory.
pub fn metadata_file(dir: &Path) -> PathBuf {
    dir.join("template.yaml")
}

/// The check files of a template directory: `checks/*.yaml`, sorted by name.
pub fn check_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir.join("checks"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// A check as include resolution sees it: its id and, where known, where it is defined.
pub trait Item: Clone {
    fn id(&self) -> &str;
    fn place(&self) -> Option<(String, u64)>;
}

impl Item for Check {
    fn id(&self) -> &str {
        &self.id
    }
    fn place(&self) -> Option<(String, u64)> {
        None
    }
}

/// One template before its includes are resolved: its own checks, and its includes and
/// excludes with the line of each in `file` (the metadata file).
pub struct Unit<C> {
    pub id: String,
    pub file: String,
    pub os: OsKind,
    pub includes: Vec<(String, u64)>,
    pub exclude: Vec<(String, u64)>,
    pub checks: Vec<C>,
}

/// Why includes did not resolve, located at an include, an exclude or a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludeProblem {
    pub file: String,
    pub line: Option<u64>,
    pub check: Option<String>,
    pub message: String,
    /// The included template that does not exist, for a "missing" problem.
    pub missing: Option<String>,
}

fn at(place: &Option<(String, u64)>) -> String {
    match place {
        Some((file, line)) => format!("{file}:{line}"),
        None => "(unknown place)".to_string(),
    }
}

struct Resolver<'a, C> {
    units: &'a BTreeMap<String, Unit<C>>,
    done: HashMap<String, Option<Vec<C>>>,
    stack: Vec<String>,
    problems: Vec<IncludeProblem>,
}

impl<C: Item> Resolver<'_, C> {
    /// The checks of template `name` (a key of `units`) with its includes resolved; `None`
    /// when something on the way did not resolve (the problems say what).
    fn resolve(&mut self, name: &str) -> Option<Vec<C>> {
        if let Some(done) = self.done.get(name) {
            return done.clone();
        }
        let unit = self.units.get(name)?;
        self.stack.push(name.to_string());
        let mut ok = true;
        let mut included: Vec<C> = Vec::new();
        let mut from: Vec<String> = Vec::new();
        for (inc, line) in &unit.includes {
            let problem = |message: String, missing: Option<String>| IncludeProblem {
                file: unit.file.clone(),
                line: Some(*line),
                check: None,
                message,
                missing,
            };
            if let Some(pos) = self.stack.iter().position(|s| s == inc) {
                let mut cycle = self.stack[pos..].to_vec();
                cycle.push(inc.clone());
                self.problems.push(problem(
                    format!(
                        "include of {inc:?} closes a cycle of includes: {}",
                        cycle.join(" -> ")
                    ),
                    None,
                ));
                ok = false;
                continue;
            }
            let Some(target) = self.units.get(inc) else {
                self.problems.push(problem(
                    format!("includes {inc:?}, which is not a template next to this one"),
                    Some(inc.clone()),
                ));
                ok = false;
                continue;
            };
            if target.id != *inc {
                self.problems.push(problem(
                    format!(
                        "includes {inc:?}, but that directory holds template {:?}",
                        target.id
                    ),
                    None,
                ));
                ok = false;
                continue;
            }
            if target.os != unit.os {
                self.problems.push(problem(
                    format!(
                        "includes {inc:?}, a {} template, into a {} template",
                        target.os.as_str(),
                        unit.os.as_str()
                    ),
                    None,
                ));
                ok = false;
                continue;
            }
            match self.resolve(inc) {
                Some(checks) => {
                    for c in checks {
                        match included.iter().position(|x| x.id() == c.id()) {
                            // The same definition reached through two includes.
                            Some(i) if included[i].place() == c.place() => {}
                            Some(i) => {
                                let (file, line) = c.place().unzip();
                                self.problems.push(IncludeProblem {
                                    file: file.unwrap_or_else(|| unit.file.clone()),
                                    line,
                                    check: Some(c.id().to_string()),
                                    message: format!(
                                        "check id included twice into {:?}: from {:?} and from {:?} (first at {})",
                                        unit.id,
                                        from[i],
                                        inc,
                                        at(&included[i].place())
                                    ),
                                    missing: None,
                                });
                                ok = false;
                            }
                            None => {
                                included.push(c);
                                from.push(inc.clone());
                            }
                        }
                    }
                }
                None => ok = false,
            }
        }
        for (ex, line) in &unit.exclude {
            if unit.includes.is_empty() || (ok && !included.iter().any(|c| c.id() == ex)) {
                self.problems.push(IncludeProblem {
                    file: unit.file.clone(),
                    line: Some(*line),
                    check: None,
                    message: format!("exclude names {ex:?}, which no included template defines"),
                    missing: None,
                });
                ok = false;
            }
        }
        let excluded = |c: &C| unit.exclude.iter().any(|(ex, _)| ex == c.id());
        let kept: Vec<(C, String)> = included
            .into_iter()
            .zip(from)
            .filter(|(c, _)| !excluded(c))
            .collect();
        for c in &unit.checks {
            if let Some((first, origin)) = kept.iter().find(|(x, _)| x.id() == c.id()) {
                let (file, line) = c.place().unzip();
                self.problems.push(IncludeProblem {
                    file: file.unwrap_or_else(|| unit.file.clone()),
                    line,
                    check: Some(c.id().to_string()),
                    message: format!(
                        "check id is also defined by included template {origin:?} at {}",
                        at(&first.place())
                    ),
                    missing: None,
                });
                ok = false;
            }
        }
        let mut checks: Vec<C> = kept.into_iter().map(|(c, _)| c).collect();
        checks.extend(unit.checks.iter().cloned());
        self.stack.pop();
        let result = ok.then_some(checks);
        self.done.insert(name.to_string(), result.clone());
        result
    }
}

/// Resolves template `name` (a key of `units`: the directory name, which must equal the
/// template id of an included template): the included templates' checks first, in include
/// order and transitively, less the excluded ones, then its own.
pub fn resolve<C: Item>(
    name: &str,
    units: &BTreeMap<String, Unit<C>>,
) -> Result<Vec<C>, Vec<IncludeProblem>> {
    let mut r = Resolver {
        units,
        done: HashMap::new(),
        stack: Vec::new(),
        problems: Vec::new(),
    };
    match r.resolve(name) {
        Some(checks) if r.problems.is_empty() => Ok(checks),
        _ => Err(r.problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_str;

    /// build.rs resolves plain checks (no places) with the same function as the loader.
    #[test]
    fn plain_checks_resolve_as_build_rs_sees_them() {
        let base = "id: x\nname: X\nframework: custom\nos: linux\nversion: '1'\nbenchmark: b\nchecks:\n  - id: A-1\n    title: t\n    category: Services\n    severity: low\n    description: d\n    rationale: r\n    remediation: { text: f }\n    probe: { kind: file_exists, path: /etc/issue }\n    tests: { pass: [{}], fail: [{}] }\n";
        let check = load_str("x.yaml", base).unwrap().template.checks[0].clone();
        let mut other = check.clone();
        other.id = "B-1".into();
        let unit = |id: &str, includes: &[&str], exclude: &[&str], checks: Vec<Check>| Unit {
            id: id.into(),
            file: format!("{id}/template.yaml"),
            os: OsKind::Linux,
            includes: includes.iter().map(|i| (i.to_string(), 7)).collect(),
            exclude: exclude.iter().map(|i| (i.to_string(), 8)).collect(),
            checks,
        };
        let mut units = BTreeMap::new();
        units.insert(
            "l1".into(),
            unit("l1", &[], &[], vec![check.clone(), other]),
        );
        units.insert("l2".into(), unit("l2", &["l1"], &["B-1"], vec![]));
        let ids: Vec<String> = resolve("l2", &units)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["A-1"]);
        units.insert("l3".into(), unit("l3", &["l1"], &[], vec![check]));
        let problems = resolve("l3", &units).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .message
                .contains("also defined by included template \"l1\"")
        );
    }
}
