//! Running the real OpenSCAP tools on what the crate writes. A missing `oscap` fails the
//! test naming the Debian package to install, unless BULWARK_SKIP_SCAP=1 (as in
//! bulwark-scap's tests). oscap's HTML is read with plain string search.

use std::path::Path;
use std::process::{Command, Output};

const PACKAGE: &str = "openscap-scanner";

/// `None` (the caller returns) only when oscap is missing and BULWARK_SKIP_SCAP=1.
pub fn oscap(args: &[&str], file: &Path) -> Option<Output> {
    match Command::new("oscap").args(args).arg(file).output() {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var("BULWARK_SKIP_SCAP").is_ok_and(|v| v == "1") {
                eprintln!("skipped: oscap is missing and BULWARK_SKIP_SCAP=1");
                return None;
            }
            panic!(
                "oscap is missing: install the Debian package {PACKAGE} \
                 (apt-get install -y {PACKAGE}), or set BULWARK_SKIP_SCAP=1 to skip the tests \
                 against the real SCAP tools"
            );
        }
        Err(e) => panic!("oscap {args:?}: {e}"),
    }
}

/// Stdout of a run that must exit 0.
pub fn oscap_ok(args: &[&str], file: &Path) -> Option<String> {
    let output = oscap(args, file)?;
    assert!(
        output.status.success(),
        "oscap {args:?} {} exited {}: {}{}",
        file.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).expect("oscap writes UTF-8"))
}

/// `(data-tt-id, class)` of every rule row of oscap's HTML report
/// (`<tr data-tt-id=".." class="rule-overview-leaf ..">`), in document order.
pub fn rule_rows(html: &str) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<tr data-tt-id=\"") {
        rest = &rest[start + "<tr data-tt-id=\"".len()..];
        let Some(id_end) = rest.find('"') else { break };
        let id = &rest[..id_end];
        let after = &rest[id_end + 1..];
        if let Some(class) = after.strip_prefix(" class=\"")
            && let Some(class_end) = class.find('"')
            && class[..class_end].starts_with("rule-overview-leaf ")
        {
            rows.push((id.to_string(), class[..class_end].to_string()));
        }
        rest = after;
    }
    rows
}
