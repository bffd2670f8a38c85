//! The on-disk layout of a template (its metadata file, its check files) and the shape of
//! the metadata file, shared by the loader and by build.rs (which includes this file with
//! `#[path]`, as a build script cannot depend on its own crate).

use std::fs;
use std::path::{Path, PathBuf};

use bulwark_core::{Check, Framework, OsKind, Template};
use serde::Deserialize;

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
