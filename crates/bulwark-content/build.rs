//! Precompiles the shipped YAML content into JSON so that a scan does not pay for parsing
//! 16,000 lines of YAML (and every check's test cases) at start-up. Validation with file and
//! line numbers stays with the YAML path (`shipped()`, `content lint`); when the content does
//! not parse here, no JSON is written and the runtime falls back to that path, which reports
//! the problems.

#[path = "src/layout.rs"]
#[allow(dead_code)] // the loader reads what build.rs does not
mod layout;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use bulwark_core::{Check, Template};
use layout::{TemplateFile, Unit};

/// A template directory's metadata (checks taken out) and its own part for include resolution.
fn template(dir: &Path) -> Option<(TemplateFile<Check>, Unit<Check>)> {
    let mut meta: TemplateFile<Check> =
        serde_saphyr::from_str(&fs::read_to_string(layout::metadata_file(dir)).ok()?).ok()?;
    let mut checks = std::mem::take(&mut meta.checks);
    for f in layout::check_files(dir) {
        let list: Vec<Check> = serde_saphyr::from_str(&fs::read_to_string(f).ok()?).ok()?;
        checks.extend(list);
    }
    let unit = meta.unit("template.yaml", checks);
    Some((meta, unit))
}

fn precompile(dirs: &[PathBuf]) -> Option<Vec<Template>> {
    let mut metas = Vec::new();
    let mut units = BTreeMap::new();
    for d in dirs {
        let name = d.file_name()?.to_string_lossy().to_string();
        let (meta, unit) = template(d)?;
        metas.push((name.clone(), meta));
        units.insert(name, unit);
    }
    let mut out = Vec::new();
    for (name, meta) in metas {
        let checks = layout::resolve(&name, &units).ok()?;
        out.push(meta.into_template(checks));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Some(out)
}

fn main() {
    let content = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content");
    println!("cargo:rerun-if-changed={}", content.display());
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("shipped.json");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&content)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| layout::metadata_file(p).is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    let json = match precompile(&dirs) {
        Some(t) => serde_json::to_string(&t).expect("templates serialize"),
        None => "null".to_string(),
    };
    fs::write(out, json).expect("write shipped.json");
}
