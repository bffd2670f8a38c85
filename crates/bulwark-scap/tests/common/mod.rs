//! What the tests that hold bulwark-scap against the real `oscap` and SSG content share:
//! finding them (a missing one fails the test naming the Debian package to install, unless
//! BULWARK_SKIP_SCAP=1), running oscap, and reading the HTML it writes. Its HTML is read with
//! plain string search, not with the parser under test.

#![allow(dead_code)] // each test file uses its own part of this module

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const SSG_CONTENT: &str = "/usr/share/xml/scap/ssg/content";

pub fn skipping() -> bool {
    std::env::var("BULWARK_SKIP_SCAP").is_ok_and(|v| v == "1")
}

/// Returns (so that the caller skips) only when BULWARK_SKIP_SCAP=1.
fn missing(what: &str, package: &str) {
    if skipping() {
        eprintln!("skipped: {what} is missing and BULWARK_SKIP_SCAP=1");
        return;
    }
    panic!(
        "{what} is missing: install the Debian package {package} (apt-get install -y {package}), \
         or set BULWARK_SKIP_SCAP=1 to skip the tests against real SCAP content"
    );
}

/// An SSG data stream by file name, or `None` when it is missing and tests against real
/// content are skipped.
pub fn ssg_file(name: &str, package: &str) -> Option<PathBuf> {
    let path = Path::new(SSG_CONTENT).join(name);
    if path.is_file() {
        return Some(path);
    }
    missing(&path.display().to_string(), package);
    None
}

/// Runs an OpenSCAP program; `None` when it is not installed and tests against real content
/// are skipped. The exit status is the caller's to judge (`oscap xccdf eval` exits 2 when a
/// rule fails).
pub fn run(program: &str, args: &[&str], package: &str) -> Option<Output> {
    match Command::new(program).args(args).output() {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            missing(program, package);
            None
        }
        Err(e) => panic!("{program} {args:?}: {e}"),
    }
}

/// Stdout of a run that must succeed.
pub fn run_ok(program: &str, args: &[&str], package: &str) -> Option<String> {
    let output = run(program, args, package)?;
    assert!(
        output.status.success(),
        "{program} {args:?} exited {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).expect("oscap writes UTF-8"))
}

/// `(data-tt-id, class)` of every `<tr data-tt-id=".." class="..">` whose class starts with
/// `class_prefix`, in document order: how oscap's guides and reports list rules.
pub fn table_rows(html: &str, class_prefix: &str) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<tr data-tt-id=\"") {
        rest = &rest[start + "<tr data-tt-id=\"".len()..];
        let Some(id_end) = rest.find('"') else { break };
        let id = &rest[..id_end];
        let after_id = &rest[id_end + 1..];
        if let Some(class) = after_id.strip_prefix(" class=\"")
            && let Some(class_end) = class.find('"')
            && class[..class_end].starts_with(class_prefix)
        {
            rows.push((id.to_string(), class[..class_end].to_string()));
        }
        rest = after_id;
    }
    rows
}

/// `(rule id, result)` of every rule row of oscap's HTML report (`oscap xccdf generate
/// report`), in document order; the report leaves notselected rules out.
pub fn report_results(html: &str) -> Vec<(String, String)> {
    table_rows(html, "rule-overview-leaf ")
        .into_iter()
        .map(|(id, class)| {
            let result = class
                .split_whitespace()
                .find_map(|c| c.strip_prefix("rule-overview-leaf-"))
                .filter(|r| !r.starts_with("id-"))
                .expect("the row's class names its result")
                .to_string();
            (id, result)
        })
        .collect()
}

/// The text of the first `<td>` after `<th>{header}</th>` in oscap's HTML report.
pub fn table_cell(html: &str, header: &str) -> Option<String> {
    let at = html.find(&format!("<th>{header}</th>"))?;
    let rest = &html[at..];
    let start = rest.find("<td>")? + "<td>".len();
    let end = rest[start..].find("</td>")?;
    Some(rest[start..start + end].to_string())
}

/// Whether this process runs as root: oscap-chroot's probes call chroot(2), which only root
/// may.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}
