//! The templates shipped with Bulwark, embedded at build time from the repository's content/.

use include_dir::{Dir, include_dir};

use crate::Problems;
use crate::load::{Loaded, finish_embedded};

static CONTENT: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../content");

/// Every shipped template, parsed and validated. Shipped content is checked by the test suite,
/// so an error here means a broken build; it is still reported, not panicked on.
pub fn shipped() -> Result<Vec<Loaded>, Problems> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for dir in CONTENT.dirs() {
        let Some(meta) = dir.get_file(dir.path().join("template.yaml")) else {
            continue;
        };
        let mut files: Vec<(String, String)> = Vec::new();
        if let Some(checks) = dir.get_dir(dir.path().join("checks")) {
            for f in checks.files() {
                if f.path().extension().is_some_and(|x| x == "yaml") {
                    files.push((
                        format!("content/{}", f.path().display()),
                        f.contents_utf8().unwrap_or_default().to_string(),
                    ));
                }
            }
        }
        files.sort();
        let meta_name = format!("content/{}", meta.path().display());
        match finish_embedded(&meta_name, meta.contents_utf8().unwrap_or_default(), &files) {
            Ok(t) => out.push(t),
            Err(Problems(p)) => problems.extend(p),
        }
    }
    if problems.is_empty() {
        out.sort_by(|a, b| a.template.id.cmp(&b.template.id));
        Ok(out)
    } else {
        Err(Problems(problems))
    }
}

pub fn shipped_template(id: &str) -> Result<Option<Loaded>, Problems> {
    Ok(shipped()?.into_iter().find(|t| t.template.id == id))
}
