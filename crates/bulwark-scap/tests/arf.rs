//! The ARF reader: on an ARF that `oscap` wrote (tests/fixtures/oscap-arf.xml), rule by rule
//! against oscap's own HTML report of the same file; on a live `oscap-chroot` scan of a small
//! Ubuntu 22.04 root with SSG's CIS profile, rule by rule against what oscap printed during
//! that scan; and bad input.

mod common;

use std::path::{Path, PathBuf};

use bulwark_scap::{RuleOutcome, ScapError, Severity, read_arf_results};
use common::{is_root, report_results, run, run_ok, skipping, ssg_file, table_cell};

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

const PREFIX: &str = "xccdf_com.example.bulwark_rule_";

#[test]
fn reads_the_arf_oscap_wrote() {
    let arf = read_arf_results(&std::fs::read(fixture_path("oscap-arf.xml")).unwrap()).unwrap();
    assert_eq!(arf.test_results.len(), 1);
    let result = &arf.test_results[0];
    assert_eq!(
        result.id,
        "xccdf_org.open-scap_testresult_xccdf_com.example.bulwark_profile_all"
    );
    assert_eq!(
        result.benchmark_id.as_deref(),
        Some("xccdf_com.example.bulwark_benchmark_arf")
    );
    assert_eq!(
        result.profile_id.as_deref(),
        Some("xccdf_com.example.bulwark_profile_all")
    );
    assert_eq!(result.target.as_deref(), Some("ubuntu-fixture"));
    assert_eq!(
        result.test_system.as_deref(),
        Some("cpe:/a:redhat:openscap:1.3.7")
    );
    assert!(
        result
            .target_facts
            .iter()
            .any(|f| f.name == "urn:xccdf:fact:scanner:name" && f.value == "OpenSCAP")
    );
    assert_eq!(result.scores.len(), 1);
    assert_eq!(
        result.scores[0].system.as_deref(),
        Some("urn:xccdf:scoring:default")
    );
    assert_eq!(result.scores[0].maximum, Some(100.0));
    assert_eq!(result.scores[0].value, 50.0);

    let outcomes: Vec<(&str, RuleOutcome)> = result
        .rule_results
        .iter()
        .map(|r| (r.idref.strip_prefix(PREFIX).unwrap(), r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("max_days", RuleOutcome::Fail),
            ("root_login", RuleOutcome::Pass),
            ("no_telnet_config", RuleOutcome::Pass),
            ("rhel_only", RuleOutcome::NotApplicable),
            ("manual", RuleOutcome::NotChecked),
            ("missing_definition", RuleOutcome::NotChecked),
            ("unreadable", RuleOutcome::Error),
            ("kernel_setting", RuleOutcome::NotApplicable),
            ("unselected", RuleOutcome::NotSelected),
        ]
    );

    let max_days = &result.rule_results[0];
    assert_eq!(max_days.severity, Severity::Medium);
    assert_eq!(max_days.idents[0].id, "CCE-80647-8");
    assert!(max_days.idents[0].is_cce());
    let check = &max_days.checks[0];
    assert_eq!(check.system, bulwark_scap::OVAL_SYSTEM);
    assert_eq!(check.content_refs[0].href, "#oval0");
    assert_eq!(
        check.content_refs[0].name.as_deref(),
        Some("oval:com.example.bulwark:def:1")
    );
    assert_eq!(
        check.exports[0].value_id,
        "xccdf_com.example.bulwark_value_max_days"
    );
    assert!(max_days.time.is_some());

    let manual = &result.rule_results[4];
    assert_eq!(manual.messages.len(), 1);
    assert_eq!(manual.messages[0].severity.as_deref(), Some("info"));
    assert_eq!(
        manual.messages[0].text,
        "No candidate or applicable check found."
    );
}

/// oscap's HTML report of an ARF, as `(rule id, result)` rows in order and the header cells.
struct OscapReport {
    rows: Vec<(String, String)>,
    html: String,
}

fn oscap_report(arf: &Path) -> Option<OscapReport> {
    let html = run_ok(
        "oscap",
        &["xccdf", "generate", "report", arf.to_str().unwrap()],
        "openscap-scanner",
    )?;
    let rows = report_results(&html);
    Some(OscapReport { rows, html })
}

fn ours_without_notselected(arf: &bulwark_scap::TestResult) -> Vec<(String, String)> {
    arf.rule_results
        .iter()
        .filter(|r| r.outcome != RuleOutcome::NotSelected)
        .map(|r| (r.idref.clone(), r.outcome.to_string()))
        .collect()
}

#[test]
fn agrees_with_oscaps_report_rule_by_rule() {
    let path = fixture_path("oscap-arf.xml");
    let Some(report) = oscap_report(&path) else {
        return;
    };
    let arf = read_arf_results(&std::fs::read(&path).unwrap()).unwrap();
    let result = &arf.test_results[0];
    assert_eq!(ours_without_notselected(result), report.rows);
    assert_eq!(
        table_cell(&report.html, "Started at").as_deref(),
        result.start_time.as_deref()
    );
    assert_eq!(
        table_cell(&report.html, "Finished at").as_deref(),
        result.end_time.as_deref()
    );
    let score = format!(
        "urn:xccdf:scoring:default</td><td class=\"text-center\">{:.6}</td><td class=\"text-center\">{:.6}</td>",
        result.scores[0].value,
        result.scores[0].maximum.unwrap()
    );
    assert!(report.html.contains(&score), "oscap's report shows {score}");
}

/// Files of an Ubuntu 22.04 host, enough for SSG's CPE check (/etc/lsb-release) and for a mix
/// of passing and failing CIS rules.
const UBUNTU_ROOT: &[(&str, &str)] = &[
    (
        "etc/os-release",
        "NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\n",
    ),
    (
        "etc/lsb-release",
        "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\n",
    ),
    (
        "etc/login.defs",
        "PASS_MAX_DAYS 99999\nPASS_MIN_DAYS 0\nUMASK 022\n",
    ),
    (
        "etc/ssh/sshd_config",
        "PermitRootLogin no\nX11Forwarding yes\nMaxAuthTries 6\n",
    ),
    (
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nsshd:x:105:65534::/run/sshd:/usr/sbin/nologin\n",
    ),
    ("etc/group", "root:x:0:\n"),
    ("etc/shadow", "root:*:19000:0:99999:7:::\n"),
    ("etc/motd", ""),
    ("etc/fstab", "UUID=0a1b / ext4 errors=remount-ro 0 1\n"),
    (
        "var/lib/dpkg/status",
        "Package: openssh-server\nStatus: install ok installed\nVersion: 1:8.9p1-3\nArchitecture: amd64\n",
    ),
];

/// Blocks of `Title/Rule/Ident/Result` lines that `oscap xccdf eval` prints for each rule it
/// evaluates (it leaves notselected rules out). Between a label and its value oscap writes
/// `\r\t`, the carriage return being for its progress display.
fn printed_results(stdout: &str) -> Vec<(String, String)> {
    let field = |line: &str, label: &str| {
        line.strip_prefix(label)
            .filter(|rest| rest.starts_with(['\r', '\t']))
            .map(|rest| rest.trim_start_matches(['\r', '\t']).to_string())
    };
    let mut results = Vec::new();
    let mut rule = None;
    for line in stdout.lines() {
        if let Some(id) = field(line, "Rule") {
            rule = Some(id);
        } else if let Some(result) = field(line, "Result") {
            let id = rule.take().expect("oscap prints Rule before Result");
            results.push((id, result));
        }
    }
    results
}

#[test]
fn a_live_scan_of_a_root_agrees_with_what_oscap_printed() {
    let Some(content) = ssg_file("ssg-ubuntu2204-ds.xml", "ssg-debderived") else {
        return;
    };
    if !is_root() {
        assert!(
            skipping(),
            "oscap-chroot must run as root (its probes call chroot(2)); run as root or set BULWARK_SKIP_SCAP=1"
        );
        return;
    }
    let scratch = std::env::temp_dir().join(format!("bulwark-scap-arf-{}", std::process::id()));
    let root = scratch.join("root");
    for (path, content) in UBUNTU_ROOT {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let arf_path = scratch.join("results-arf.xml");
    let profile = "xccdf_org.ssgproject.content_profile_cis_level1_server";
    let Some(output) = run(
        "oscap-chroot",
        &[
            root.to_str().unwrap(),
            "xccdf",
            "eval",
            "--profile",
            profile,
            "--results-arf",
            arf_path.to_str().unwrap(),
            content.to_str().unwrap(),
        ],
        "openscap-utils",
    ) else {
        return;
    };
    // 0: every rule passed, 2: some failed; anything else is oscap failing.
    assert!(
        matches!(output.status.code(), Some(0 | 2)),
        "oscap-chroot exited {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = printed_results(&String::from_utf8(output.stdout).unwrap());
    let arf = read_arf_results(&std::fs::read(&arf_path).unwrap()).unwrap();
    std::fs::remove_dir_all(&scratch).ok();

    assert_eq!(arf.test_results.len(), 1);
    let result = &arf.test_results[0];
    assert_eq!(result.profile_id.as_deref(), Some(profile));
    let ours = ours_without_notselected(result);
    assert_eq!(ours.len(), printed.len(), "rules evaluated");
    for (ours, printed) in ours.iter().zip(&printed) {
        assert_eq!(ours, printed);
    }
    // oscap evaluates the profile's rules in document order, the order resolve_profile gives.
    let datastream = bulwark_scap::read_datastream(&std::fs::read(&content).unwrap()).unwrap();
    let resolved = datastream.benchmarks()[0].resolve_profile(profile).unwrap();
    let selected: Vec<&str> = resolved.rules.iter().map(|r| r.id.as_str()).collect();
    let evaluated_ids: Vec<&str> = ours.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(selected, evaluated_ids);
    let evaluated: Vec<RuleOutcome> = result.rule_results.iter().map(|r| r.outcome).collect();
    assert!(evaluated.contains(&RuleOutcome::Pass) && evaluated.contains(&RuleOutcome::Fail));
}

#[test]
fn outcomes_parse_from_their_xccdf_spelling() {
    let cases = [
        ("pass", Some(RuleOutcome::Pass)),
        ("fail", Some(RuleOutcome::Fail)),
        ("error", Some(RuleOutcome::Error)),
        ("unknown", Some(RuleOutcome::Unknown)),
        ("notapplicable", Some(RuleOutcome::NotApplicable)),
        ("notchecked", Some(RuleOutcome::NotChecked)),
        ("notselected", Some(RuleOutcome::NotSelected)),
        ("informational", Some(RuleOutcome::Informational)),
        ("fixed", Some(RuleOutcome::Fixed)),
        ("Pass", None),
        ("not applicable", None),
        ("", None),
    ];
    for (text, expected) in cases {
        assert_eq!(text.parse::<RuleOutcome>().ok(), expected, "{text:?}");
        if let Some(outcome) = expected {
            assert_eq!(outcome.to_string(), text);
            assert_eq!(
                serde_json::to_string(&outcome).unwrap(),
                format!("\"{text}\"")
            );
        }
    }
}

fn arf_with(rule_result: &str) -> String {
    format!(
        r#"<arf:asset-report-collection xmlns:arf="http://scap.nist.gov/schema/asset-reporting-format/1.1">
<arf:reports><arf:report id="x"><arf:content>
<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="t">
{rule_result}
</TestResult>
</arf:content></arf:report></arf:reports>
</arf:asset-report-collection>"#
    )
}

#[test]
fn bad_arf_is_refused_with_a_clear_error() {
    let small_ds = std::fs::read_to_string(fixture_path("small-ds.xml")).unwrap();
    let cases = [
        (
            "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"b\">]>\n<x/>".to_string(),
            "DTDs are refused (line 2)",
        ),
        (
            small_ds,
            "not an ARF result: the root element is <ds:data-stream-collection>, expected arf:asset-report-collection",
        ),
        (
            arf_with(r#"<rule-result idref="r"><result>passed</result></rule-result>"#),
            "invalid rule result \"passed\" (line 4)",
        ),
        (
            arf_with(r#"<rule-result idref="r"></rule-result>"#),
            "<rule-result> (line 4) has no result element",
        ),
        (
            arf_with(r#"<rule-result><result>pass</result></rule-result>"#),
            "<rule-result> (line 4) has no idref attribute",
        ),
        (
            arf_with(r#"<score>high</score>"#),
            "invalid score \"high\" (line 4)",
        ),
        (
            arf_with(
                r#"<rule-result idref="r"><result>pass</result><message>&xxe;</message></rule-result>"#,
            ),
            "entity &xxe; is refused (line 4): only the predefined XML entities and character references are expanded",
        ),
    ];
    for (input, expected) in cases {
        let error = read_arf_results(input.as_bytes()).unwrap_err();
        assert_eq!(error.to_string(), expected);
    }
    assert!(matches!(
        read_arf_results(b"<a/>").unwrap_err(),
        ScapError::NotAnArf { .. }
    ));
}

#[test]
fn an_arf_without_results_reads_as_empty() {
    let arf = read_arf_results(
        br#"<arf:asset-report-collection xmlns:arf="http://scap.nist.gov/schema/asset-reporting-format/1.1"/>"#,
    )
    .unwrap();
    assert!(arf.test_results.is_empty());
}

#[test]
fn no_truncation_makes_the_reader_panic() {
    let whole = std::fs::read(fixture_path("oscap-arf.xml")).unwrap();
    for end in (0..whole.len()).step_by(13) {
        let _ = read_arf_results(&whole[..end]);
    }
}
