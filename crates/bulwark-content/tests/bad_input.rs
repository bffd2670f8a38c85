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
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("template.yaml"), TEMPLATE).unwrap();
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
            "checks/a.yaml:1: check T-1: path must be an absolute path, got \"etc/issue\"",
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
