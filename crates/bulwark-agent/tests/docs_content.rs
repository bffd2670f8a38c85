//! docs/content.md carries the coverage tables exactly as `content list --format markdown`
//! prints them for the shipped content, so the documentation cannot drift from the content.

use std::path::Path;
use std::process::Command;

const START: &str = "<!-- generated: content list --format markdown -->\n";
const END: &str = "<!-- end generated -->";

#[test]
fn docs_content_md_has_the_generated_coverage_tables() {
    let out = Command::new(env!("CARGO_BIN_EXE_bulwark-agent"))
        .args(["content", "list", "--format", "markdown"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/content.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let section = doc
        .split_once(START)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(inside, _)| inside)
        .unwrap_or_else(|| panic!("docs/content.md lacks the markers {START:?} and {END:?}"));
    assert!(
        section == generated,
        "docs/content.md is out of date with the shipped content. Replace the text between \
         the markers with the output of\n\n    cargo run -q -p bulwark-agent -- content list --format markdown\n\n\
         which is now:\n\n{generated}"
    );
}

#[test]
fn list_and_show_carry_the_counts_per_category() {
    let agent = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_bulwark-agent"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let shown: serde_json::Value = serde_json::from_str(&agent(&[
        "content",
        "show",
        "cis-linux-l1",
        "--format",
        "json",
    ]))
    .unwrap();
    let counts = shown["counts_by_category"].as_object().unwrap();
    let total: u64 = counts.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(total as usize, shown["checks"].as_array().unwrap().len());
    assert_eq!(shown["check_count"].as_u64(), Some(total));
    let filesystem = shown["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["category"] == "Filesystem")
        .count();
    assert_eq!(counts["Filesystem"].as_u64(), Some(filesystem as u64));
    let listed = agent(&["content", "list"]);
    assert!(listed.contains("cis-linux-l1"), "{listed}");
    assert!(
        listed.contains(&format!("Filesystem: {filesystem}")),
        "{listed}"
    );
}
