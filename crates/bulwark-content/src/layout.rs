//! The on-disk layout of a template directory, shared by the loader and by build.rs (which
//! includes this file with `#[path]`, as a build script cannot depend on its own crate).

use std::fs;
use std::path::{Path, PathBuf};

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
