//! Malformed content is reported with file, line and check, every problem at once, and
//! nothing half-loaded comes back.

use bulwark_content::load_path;

const TEMPLATE: &str =
    "id: test\nname: Test\nframework: custom\nos: linux\nversion: '1'\nbenchmark: none\n";

const GOOD_CHECK: &str = r#"- id: T-1
  title: t
  category: Services
  severity: low
  description: d
  rationale: r
  remediation: { text: fix }
  probe: { kind: file_exists, path: /etc/issue }
  tests:
    pass: [{ files: { /etc/issue: hi } }]
    fail: [{}]
"#;

fn problems(files: &[(&str, &str)]) -> Vec<String> {
    problems_in(TEMPLATE, files)
}

fn problems_in(template: &str, files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("template.yaml"), template).unwrap();
    std::fs::create_dir(dir.path().join("checks")).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join("checks").join(name), text).unwrap();
    }
    let prefix = format!("{}/", dir.path().display());
    match load_path(dir.path()) {
        Ok(_) => vec![],
        Err(p) => {
            p.0.iter()
                .map(|p| p.to_string().replace(&prefix, ""))
                .collect()
        }
    }
}

#[test]
fn good_content_loads() {
    assert_eq!(problems(&[("a.yaml", GOOD_CHECK)]), Vec::<String>::new());
}

#[test]
fn each_problem_names_file_line_and_check() {
    let cases: Vec<(String, &str)> = vec![
        (
            GOOD_CHECK.replace("  severity: low\n", "  severity: low\n  colour: red\n"),
            "checks/a.yaml:5: check T-1: unknown field `colour`",
        ),
        (
            GOOD_CHECK.replace("severity: low", "severity: urgent"),
            "checks/a.yaml:4: check T-1: unknown variant `urgent`",
        ),
        (
            GOOD_CHECK.replace("kind: file_exists", "kind: file_exist"),
            "check T-1: unknown variant `file_exist`",
        ),
        (
            GOOD_CHECK.replace("category: Services", "category: Plumbing"),
            "checks/a.yaml:1: check T-1: unknown category \"Plumbing\"",
        ),
        (
            GOOD_CHECK.replace("    fail: [{}]\n", ""),
            "checks/a.yaml:1: check T-1: tests need at least one fail case",
        ),
        (
            GOOD_CHECK.replace("path: /etc/issue }", "path: etc/issue }"),
            "checks/a.yaml:1: check T-1: path must be an absolute path (or ~/ for every home directory), got \"etc/issue\"",
        ),
        (
            GOOD_CHECK.replace(
                "probe: { kind: file_exists, path: /etc/issue }",
                "probe: { kind: sysctl, key: kernel.x }\n  expect: { op: le, value: four }",
            ),
            "checks/a.yaml:1: check T-1: expect: op le needs a number, got \"four\"",
        ),
        (
            GOOD_CHECK.replace(
                "  probe:",
                "  only_if: { kind: sysctl, key: kernel.x }\n  probe:",
            ),
            "checks/a.yaml:1: check T-1: only_if: kind sysctl needs an expect and cannot be a condition",
        ),
        (
            GOOD_CHECK.replace(
                "probe: { kind: file_exists, path: /etc/issue }",
                "probe: { kind: sysctl, key: kernel.x }",
            ),
            "checks/a.yaml:1: check T-1: kind sysctl needs an expect",
        ),
    ];
    for (text, want) in cases {
        let got = problems(&[("a.yaml", &text)]);
        assert!(
            got.iter().any(|p| p.starts_with(want) || p.contains(want)),
            "wanted {want:?}, got {got:?}"
        );
    }
}

#[test]
fn every_broken_check_is_reported_not_just_the_first() {
    let two_bad = format!(
        "{}{}",
        GOOD_CHECK.replace("severity: low", "severity: urgent"),
        GOOD_CHECK
            .replace("T-1", "T-2")
            .replace("  title: t\n", "  title: t\n  bogus: 1\n")
    );
    let got = problems(&[("a.yaml", &two_bad)]);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].contains("check T-1") && got[1].contains("check T-2"),
        "{got:?}"
    );
    assert!(got[1].starts_with("checks/a.yaml:14:"), "{got:?}");
}

#[test]
fn duplicate_ids_name_both_places() {
    let got = problems(&[("a.yaml", GOOD_CHECK), ("b.yaml", GOOD_CHECK)]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("checks/b.yaml:1: check T-1: duplicate check id, first defined at "),
        "{got:?}"
    );
    assert!(got[0].ends_with("checks/a.yaml:1"), "{got:?}");
}

const WINDOWS_CHECK: &str = r#"- id: W-1
  title: t
  category: Security Options
  severity: low
  description: d
  rationale: r
  remediation: { text: fix }
  probe: { kind: registry_value, key: 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System', name: EnableLUA }
  expect: { op: equals, value: 1 }
  tests:
    pass: [{ os: windows2022, registry: { 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System': { EnableLUA: 1 } } }]
    fail: [{ os: windows2022 }]
"#;

#[test]
fn windows_checks_are_validated_against_their_kinds_and_os() {
    let windows = TEMPLATE.replace("os: linux", "os: windows");
    assert_eq!(
        problems_in(&windows, &[("a.yaml", WINDOWS_CHECK)]),
        Vec::<String>::new()
    );
    let probe = "probe: { kind: registry_value, key: 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System', name: EnableLUA }";
    assert!(WINDOWS_CHECK.contains(probe));
    let cases: Vec<(String, &str)> = vec![
        (
            WINDOWS_CHECK.replace("Security Options", "Filesystem"),
            "check W-1: unknown category \"Filesystem\"; use one of: Account Policies,",
        ),
        (
            WINDOWS_CHECK.replace("key: 'HKLM", "key: 'HKCU"),
            "check W-1: key must be a key under HKLM\\ (or HKEY_LOCAL_MACHINE\\), got \"HKCU",
        ),
        (
            WINDOWS_CHECK.replace("name: EnableLUA }", "name: '' }"),
            "check W-1: name (the value name) must not be empty",
        ),
        (
            WINDOWS_CHECK.replace(probe, "probe: { kind: security_policy, section: Password Policy, key: MinimumPasswordLength }"),
            "check W-1: unknown security policy section \"Password Policy\"; use one of: System Access,",
        ),
        (
            WINDOWS_CHECK.replace(probe, "probe: { kind: security_policy, section: System Access, key: '' }"),
            "check W-1: key must not be empty",
        ),
        (
            WINDOWS_CHECK
                .replace(probe, "probe: { kind: security_policy, section: Privilege Rights, key: SeNetworkLogonRight }")
                .replace("{ op: equals, value: 1 }", "{ op: set_equals, value: '*S-1-5-32-544' }"),
            "check W-1: expect: Privilege Rights values are collected without the * before each SID",
        ),
        (
            WINDOWS_CHECK.replace(probe, "probe: { kind: audit_policy, subcategory: '' }"),
            "check W-1: subcategory must be an audit subcategory name",
        ),
        (
            WINDOWS_CHECK.replace(probe, "probe: { kind: sysctl, key: kernel.x }"),
            "check W-1: kind sysctl is for linux templates, this one is windows",
        ),
        (
            WINDOWS_CHECK
                .replace(probe, "probe: { kind: login_banner, path: /etc/issue }")
                .replace("  expect: { op: equals, value: 1 }\n", ""),
            "check W-1: login_banner takes no path on windows",
        ),
        (
            WINDOWS_CHECK.replace("fail: [{ os: windows2022 }]", "fail: [{}]"),
            "check W-1: test cases of a windows template need os: windows2022",
        ),
        (
            WINDOWS_CHECK.replace("  expect: { op: equals, value: 1 }\n", ""),
            "check W-1: kind registry_value needs an expect",
        ),
    ];
    for (text, want) in cases {
        let got = problems_in(&windows, &[("a.yaml", &text)]);
        assert!(
            got.iter()
                .any(|p| p.starts_with(&format!("checks/a.yaml:1: {want}"))),
            "wanted {want:?}, got {got:?}"
        );
    }
}

#[test]
fn linux_templates_refuse_windows_kinds_and_keep_banner_paths() {
    let cases: Vec<(String, &str)> = vec![
        (
            GOOD_CHECK.replace(
                "probe: { kind: file_exists, path: /etc/issue }",
                "probe: { kind: audit_policy, subcategory: Logon }\n  expect: { op: equals, value: Success }",
            ),
            "check T-1: kind audit_policy is for windows templates, this one is linux",
        ),
        (
            GOOD_CHECK.replace(
                "probe: { kind: file_exists, path: /etc/issue }",
                "probe: { kind: login_banner }",
            ),
            "check T-1: login_banner needs a path on linux (an absolute path such as /etc/issue)",
        ),
        (
            GOOD_CHECK.replace("fail: [{}]", "fail: [{ os: windows2022 }]"),
            "check T-1: a linux template's test case uses a windows base layout",
        ),
    ];
    for (text, want) in cases {
        let got = problems(&[("a.yaml", &text)]);
        assert!(
            got.iter()
                .any(|p| p.starts_with(&format!("checks/a.yaml:1: {want}"))),
            "wanted {want:?}, got {got:?}"
        );
    }
}

#[test]
fn remediation_scripts_and_their_disruption_go_together() {
    let with = |remediation: &str| GOOD_CHECK.replace("{ text: fix }", remediation);
    assert_eq!(
        problems(&[(
            "a.yaml",
            &with("{ text: fix, script: 'sysctl -w x=1', disruption: low, reboot: true }")
        )]),
        Vec::<String>::new()
    );
    let cases = [
        (
            with("{ text: fix, script: 'sysctl -w x=1' }"),
            "checks/a.yaml:1: check T-1: remediation.script needs a disruption (low, medium or high)",
        ),
        (
            with("{ text: fix, disruption: high }"),
            "checks/a.yaml:1: check T-1: remediation.disruption and remediation.reboot describe a script; this check has none",
        ),
        (
            with("{ text: fix, reboot: true }"),
            "checks/a.yaml:1: check T-1: remediation.disruption and remediation.reboot describe a script; this check has none",
        ),
        (
            with("{ text: fix, script: x, disruption: severe }"),
            "checks/a.yaml:7: check T-1: unknown variant `severe`",
        ),
    ];
    for (text, want) in cases {
        let got = problems(&[("a.yaml", &text)]);
        assert!(
            got.len() == 1 && got[0].starts_with(want),
            "wanted {want:?}, got {got:?}"
        );
    }
}
