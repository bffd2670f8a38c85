//! Every shipped check's inline pass and fail cases, run through the real engine; and the
//! coverage the CIS Linux Level 1 template promises.

use std::collections::BTreeSet;

use bulwark_content::{LINUX_CATEGORIES, shipped};
use bulwark_engine::harness::run_all;

#[test]
fn every_shipped_test_case_comes_out_as_filed() {
    let templates = shipped().unwrap_or_else(|p| panic!("shipped content is invalid:\n{p}"));
    let mut report = Vec::new();
    for loaded in &templates {
        for failure in run_all(loaded.template.os, &loaded.template.checks) {
            let at = loaded
                .location_of(&failure.check_id)
                .map(|l| format!("{}:{}", l.file, l.line))
                .unwrap_or_default();
            report.push(format!("{at}: check {}: {failure}", failure.check_id));
        }
    }
    assert!(
        report.is_empty(),
        "{} case(s) failed:\n{}",
        report.len(),
        report.join("\n")
    );
}

#[test]
fn cis_linux_level1_covers_the_benchmark() {
    let templates = shipped().unwrap();
    let l1 = &templates
        .iter()
        .find(|t| t.template.id == "cis-linux-l1")
        .expect("cis-linux-l1 is shipped")
        .template;
    assert!(l1.checks.len() >= 158, "{} checks", l1.checks.len());
    let categories: BTreeSet<&str> = l1.checks.iter().map(|c| c.category.as_str()).collect();
    for wanted in LINUX_CATEGORIES {
        assert!(categories.contains(wanted), "no check in category {wanted}");
    }
    for c in &l1.checks {
        assert!(
            !c.tests.pass.is_empty() && !c.tests.fail.is_empty(),
            "{} lacks cases",
            c.id
        );
    }
    let with_rhel_override = l1
        .checks
        .iter()
        .filter(|c| c.overrides.iter().any(|o| o.distro == "rhel"))
        .count();
    assert!(
        with_rhel_override >= 20,
        "only {with_rhel_override} checks have a RHEL override"
    );
}
