//! The templates shipped with Bulwark, embedded at build time from the repository's content/.

use include_dir::{Dir, include_dir};

use bulwark_core::Template;

use crate::Problems;
use crate::load::{Loaded, Source, TemplateSet, parse_template};

static CONTENT: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../content");

/// Every shipped template, parsed, validated and with its includes resolved. Shipped content
/// is checked by the test suite, so an error here means a broken build; it is still reported,
/// not panicked on.
pub fn shipped() -> Result<Vec<Loaded>, Problems> {
    let mut set = TemplateSet::default();
    let mut names = Vec::new();
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
        let source = Source {
            meta_file: format!("content/{}", meta.path().display()),
            meta_text: meta.contents_utf8().unwrap_or_default().to_string(),
            files,
        };
        let name = dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        set.add(name.clone(), parse_template(&source));
        names.push(name);
    }
    set.set_available(names.clone());
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for name in &names {
        match set.assemble(name) {
            Ok(t) => out.push(t),
            Err(p) => problems.extend(p),
        }
    }
    if problems.is_empty() {
        out.sort_by(|a, b| a.template.id.cmp(&b.template.id));
        Ok(out)
    } else {
        problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        problems.dedup();
        Err(Problems(problems))
    }
}

/// The shipped templates as build.rs precompiled them (`None` when the content did not parse
/// at build time, or the JSON does not match this build's types).
fn precompiled() -> Option<Vec<Template>> {
    serde_json::from_str::<Option<Vec<Template>>>(include_str!(concat!(
        env!("OUT_DIR"),
        "/shipped.json"
    )))
    .ok()
    .flatten()
}

/// Every shipped template, from the precompiled form (the server seeds its system templates
/// from these without parsing YAML).
pub fn shipped_templates() -> Result<Vec<Template>, Problems> {
    match precompiled() {
        Some(all) => Ok(all),
        None => Ok(shipped()?.into_iter().map(|l| l.template).collect()),
    }
}

/// One shipped template, for scanning: from the precompiled form, which the test suite checks
/// to be identical to the validated YAML.
pub fn shipped_template(id: &str) -> Result<Option<Template>, Problems> {
    match precompiled() {
        Some(all) => Ok(all.into_iter().find(|t| t.id == id)),
        None => Ok(shipped()?
            .into_iter()
            .map(|l| l.template)
            .find(|t| t.id == id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precompiled_content_equals_the_validated_yaml() {
        let yaml: Vec<Template> = shipped().unwrap().into_iter().map(|l| l.template).collect();
        let json = precompiled().expect("build.rs precompiled the shipped content");
        assert_eq!(json, yaml);
    }
}
