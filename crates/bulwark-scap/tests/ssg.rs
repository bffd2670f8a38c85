//! The data stream reader against real content: SSG's Ubuntu 22.04 and RHEL 9 data streams
//! (Debian packages ssg-debderived and ssg-nondebian) compared with what `oscap` itself says
//! about the same files.
//!
//! `oscap info` gives the streams, checklists, benchmark status and profiles (ids and titles)
//! but no rule counts. For those, `oscap xccdf generate guide --profile P` is used: the guide
//! lists exactly the rules the profile selects, one `<tr class="guide-tree-leaf">` per rule,
//! after oscap's own XCCDF resolution (extends, group selection), so each profile's selected
//! rules are compared id by id. Not their order: the guide shows a group's rules in an order of
//! its own, while `oscap xccdf eval` (and so the ARF) goes in document order, as we do.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use bulwark_scap::{Benchmark, DataStream, read_datastream};
use common::{run_ok, ssg_file, table_rows};

const SCANNER: &str = "openscap-scanner";

/// What `oscap info FILE` prints about a source data stream.
#[derive(Debug, Default)]
struct OscapInfo {
    streams: Vec<String>,
    checklists: Vec<String>,
    status: Vec<String>,
    profiles: Vec<(String, String)>,
}

fn oscap_info(file: &Path) -> Option<OscapInfo> {
    let stdout = run_ok("oscap", &["info", file.to_str().unwrap()], SCANNER)?;
    let mut info = OscapInfo::default();
    let mut section = "";
    let mut title: Option<String> = None;
    for line in stdout.lines() {
        let trimmed = line.trim();
        if let Some(stream) = trimmed.strip_prefix("Stream: ") {
            info.streams.push(stream.to_string());
        } else if let Some(name) = trimmed.strip_suffix(':')
            && !trimmed.contains(' ')
        {
            section = if name == "Checklists" || name == "Checks" || name == "Dictionaries" {
                name
            } else {
                section
            };
        } else if let Some(id) = trimmed.strip_prefix("Ref-Id: ") {
            if section == "Checklists" {
                info.checklists.push(id.to_string());
            }
        } else if let Some(status) = trimmed.strip_prefix("Status: ") {
            info.status.push(status.to_string());
        } else if let Some(t) = line.strip_prefix("\t\t\tTitle: ") {
            title = Some(t.to_string());
        } else if let Some(id) = line.strip_prefix("\t\t\t\tId: ") {
            let title = title
                .take()
                .expect("oscap info prints a profile's title before its id");
            info.profiles.push((id.to_string(), title));
        }
    }
    Some(info)
}

/// The rule ids the guide for a profile lists, in order.
fn oscap_selected_rules(file: &Path, profile: &str) -> Option<Vec<String>> {
    let html = run_ok(
        "oscap",
        &[
            "xccdf",
            "generate",
            "guide",
            "--profile",
            profile,
            file.to_str().unwrap(),
        ],
        SCANNER,
    )?;
    Some(
        table_rows(&html, "guide-tree-leaf ")
            .into_iter()
            .map(|(id, _)| id)
            .collect(),
    )
}

fn compare_with_oscap(file_name: &str, package: &str) -> Option<DataStream> {
    let file = ssg_file(file_name, package)?;
    let datastream = read_datastream(&std::fs::read(&file).unwrap())
        .unwrap_or_else(|e| panic!("{file_name}: {e}"));
    let info = oscap_info(&file)?;

    let streams: Vec<&str> = datastream.streams().iter().map(|s| s.id.as_str()).collect();
    assert_eq!(streams, info.streams, "{file_name}: data streams");
    let checklists: Vec<&str> = datastream
        .streams()
        .iter()
        .flat_map(|s| s.checklists.iter().map(|c| c.id.as_str()))
        .collect();
    assert_eq!(checklists, info.checklists, "{file_name}: checklists");

    assert_eq!(
        datastream.benchmarks().len(),
        1,
        "{file_name}: one benchmark"
    );
    let benchmark = &datastream.benchmarks()[0];
    assert_eq!(
        benchmark.status.as_deref(),
        info.status.first().map(String::as_str),
        "{file_name}: benchmark status"
    );
    let target = datastream.eval_target(&benchmark.id).unwrap();
    assert_eq!(target.datastream_id, info.streams[0]);
    assert_eq!(target.xccdf_id, info.checklists[0]);

    let profiles: Vec<(String, String)> = benchmark
        .profiles()
        .iter()
        .map(|p| (p.id.clone(), p.title.clone()))
        .collect();
    assert_eq!(
        profiles, info.profiles,
        "{file_name}: profile ids and titles"
    );
    assert!(!profiles.is_empty(), "{file_name}: oscap lists profiles");

    compare_selections(&file, benchmark)?;
    Some(datastream)
}

/// Every profile's selected rules against oscap's guide, two oscap processes at a time (the
/// machines have two cores; each guide takes seconds).
fn compare_selections(file: &Path, benchmark: &Benchmark) -> Option<()> {
    let profiles: Vec<&str> = benchmark.profiles().iter().map(|p| p.id.as_str()).collect();
    let halves = profiles.split_at(profiles.len() / 2);
    let outcomes: Vec<Option<()>> = std::thread::scope(|scope| {
        [halves.0, halves.1]
            .map(|half| {
                scope.spawn(move || {
                    for profile in half {
                        let expected = oscap_selected_rules(file, profile)?;
                        let resolved = benchmark.resolve_profile(profile).unwrap();
                        let ours: BTreeSet<&str> =
                            resolved.rules.iter().map(|r| r.id.as_str()).collect();
                        let oscaps: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
                        assert!(!expected.is_empty(), "{profile}: oscap's guide lists rules");
                        assert_eq!(ours.len(), resolved.rules.len(), "{profile}: no rule twice");
                        assert_eq!(oscaps.len(), expected.len(), "{profile}: no rule twice");
                        let missing: Vec<&&str> = oscaps.difference(&ours).collect();
                        let extra: Vec<&&str> = ours.difference(&oscaps).collect();
                        assert!(
                            missing.is_empty() && extra.is_empty(),
                            "{}: {profile}: {} rules ours, {} oscap's; oscap's only: {missing:?}; ours only: {extra:?}",
                            file.display(),
                            ours.len(),
                            oscaps.len(),
                        );
                    }
                    Some(())
                })
            })
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    });
    outcomes.into_iter().collect()
}

#[test]
fn ubuntu2204_reads_as_oscap_reads_it() {
    let Some(datastream) = compare_with_oscap("ssg-ubuntu2204-ds.xml", "ssg-debderived") else {
        return;
    };
    let benchmark = &datastream.benchmarks()[0];
    assert!(bulwark_scap::fits(&benchmark.platforms, "ubuntu", "22.04"));
    assert!(!bulwark_scap::fits(&benchmark.platforms, "ubuntu", "20.04"));
    assert!(!bulwark_scap::fits(&benchmark.platforms, "debian", "12"));
}

#[test]
fn rhel9_reads_as_oscap_reads_it() {
    let Some(datastream) = compare_with_oscap("ssg-rhel9-ds.xml", "ssg-nondebian") else {
        return;
    };
    let benchmark = &datastream.benchmarks()[0];
    assert!(bulwark_scap::fits(&benchmark.platforms, "rhel", "9.3"));
    assert!(!bulwark_scap::fits(&benchmark.platforms, "rhel", "8.9"));

    // What a template is made of, on a rule every RHEL 9 CIS profile has.
    let cis = benchmark
        .resolve_profile("xccdf_org.ssgproject.content_profile_cis")
        .unwrap();
    let rule = cis
        .rules
        .iter()
        .find(|r| r.id == "xccdf_org.ssgproject.content_rule_accounts_maximum_age_login_defs")
        .expect("CIS sets a password maximum age");
    assert_eq!(rule.title, "Set Password Maximum Age");
    assert_eq!(rule.category(), Some("System Settings"));
    assert!(rule.cces().next().is_some_and(|c| c.starts_with("CCE-")));
    // The rule's texts carry the profile's value, not the Value's default.
    let max_age = cis
        .values
        .iter()
        .find(|v| v.id == "xccdf_org.ssgproject.content_value_var_accounts_maximum_age_login_defs")
        .unwrap();
    assert!(
        rule.description
            .contains(&format!("PASS_MAX_DAYS {}", max_age.value))
    );
    assert!(!rule.description.contains("<html:"), "{}", rule.description);
    assert!(
        rule.fixes
            .iter()
            .any(|f| f.system.as_deref() == Some("urn:xccdf:fix:script:sh"))
    );
}
