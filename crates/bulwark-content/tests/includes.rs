//! Template includes: resolution order, transitive includes and excludes, and every way an
//! include can be wrong, each reported with the file and line of the include or check.

use std::path::Path;

use bulwark_content::load_path;

fn meta(id: &str, extra: &str) -> String {
    format!(
        "id: {id}\nname: Test\nframework: custom\nos: linux\nversion: '1'\nbenchmark: none\n{extra}"
    )
}

fn check(id: &str) -> String {
    format!(
        r#"- id: {id}
  title: t
  category: Services
  severity: low
  description: d
  rationale: r
  remediation: {{ text: fix }}
  probe: {{ kind: file_exists, path: /etc/issue }}
  tests:
    pass: [{{ files: {{ /etc/issue: hi }} }}]
    fail: [{{}}]
"#
    )
}

/// A content directory: (directory name, extra metadata lines, check ids in checks/a.yaml).
fn content(templates: &[(&str, &str, &[&str])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra, checks) in templates {
        let t = dir.path().join(name);
        std::fs::create_dir_all(t.join("checks")).unwrap();
        std::fs::write(t.join("template.yaml"), meta(name, extra)).unwrap();
        let mut text: String = checks.iter().map(|c| check(c)).collect();
        if text.is_empty() {
            text = "[]\n".into();
        }
        std::fs::write(t.join("checks/a.yaml"), text).unwrap();
    }
    dir
}

fn problems_of(root: &Path, name: &str) -> Vec<String> {
    let prefix = format!("{}/", root.display());
    match load_path(&root.join(name)) {
        Ok(_) => vec![],
        Err(p) => {
            p.0.iter()
                .map(|p| p.to_string().replace(&prefix, ""))
                .collect()
        }
    }
}

fn ids_of(root: &Path, name: &str) -> Vec<String> {
    let loaded = load_path(&root.join(name)).unwrap_or_else(|p| panic!("{p}"));
    loaded
        .template
        .checks
        .iter()
        .map(|c| c.id.clone())
        .collect()
}

#[test]
fn each_include_problem_names_its_places() {
    type Case<'a> = (
        Vec<(&'a str, &'a str, &'a [&'a str])>,
        &'a str,
        Vec<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            vec![
                ("l2", "includes: [l1, nope]\n", &["B-1"]),
                ("l1", "", &["A-1"]),
                ("l3", "", &["C-1"]),
            ],
            "l2",
            vec![
                "l2/template.yaml:7: includes \"nope\", which is not a template next to this one (templates there: l1, l3)",
            ],
        ),
        (
            vec![
                ("a", "includes: [b]\n", &["A-1"]),
                ("b", "includes: [a]\n", &["B-1"]),
            ],
            "a",
            vec!["b/template.yaml:7: include of \"a\" closes a cycle of includes: a -> b -> a"],
        ),
        (
            vec![
                ("a", "includes: [b]\n", &["A-1"]),
                ("b", "includes: [c]\n", &["B-1"]),
                ("c", "includes:\n  - d\n  - b\n", &["C-1"]),
                ("d", "", &["D-1"]),
            ],
            "a",
            vec!["c/template.yaml:9: include of \"b\" closes a cycle of includes: b -> c -> b"],
        ),
        (
            vec![("a", "includes: [a]\n", &["A-1"])],
            "a",
            vec!["a/template.yaml:7: include of \"a\" closes a cycle of includes: a -> a"],
        ),
        (
            vec![
                ("l2", "includes: [l1]\n", &["X-1", "A-2"]),
                ("l1", "", &["A-1", "A-2"]),
            ],
            "l2",
            vec![
                "l2/checks/a.yaml:12: check A-2: check id is also defined by included template \"l1\" at l1/checks/a.yaml:12",
            ],
        ),
        (
            vec![
                ("l3", "includes: [l2]\n", &["A-1"]),
                ("l2", "includes: [l1]\n", &["B-1"]),
                ("l1", "", &["A-1"]),
            ],
            "l3",
            vec![
                "l3/checks/a.yaml:1: check A-1: check id is also defined by included template \"l2\" at l1/checks/a.yaml:1",
            ],
        ),
        (
            vec![
                ("all", "includes: [x, y]\n", &["Z-1"]),
                ("x", "", &["S-1"]),
                ("y", "", &["S-1"]),
            ],
            "all",
            vec![
                "y/checks/a.yaml:1: check S-1: check id included twice into \"all\": from \"x\" and from \"y\" (first at x/checks/a.yaml:1)",
            ],
        ),
        (
            vec![
                ("l2", "includes: [l1]\nexclude: [A-1, A-9]\n", &["B-1"]),
                ("l1", "", &["A-1"]),
            ],
            "l2",
            vec!["l2/template.yaml:8: exclude names \"A-9\", which no included template defines"],
        ),
        (
            vec![("l2", "exclude: [A-1]\n", &["B-1"])],
            "l2",
            vec!["l2/template.yaml:7: exclude names \"A-1\", which no included template defines"],
        ),
        (
            vec![("l2", "includes: [w]\n", &["B-1"]), ("w", "", &["W-1"])],
            "l2",
            vec![],
        ),
        (
            vec![("l2", "includes: [l1]\n", &["B-1"]), ("l1", "", &["A-1"])],
            "l2",
            vec![],
        ),
    ];
    for (templates, target, want) in cases {
        let dir = content(&templates);
        let got = problems_of(dir.path(), target);
        assert_eq!(got, want, "{templates:?}");
    }
}

#[test]
fn an_include_of_another_os_or_a_mismatched_directory_is_refused() {
    let dir = content(&[
        ("l2", "includes: [w, m]\n", &["B-1"]),
        ("w", "", &[]),
        ("m", "", &["M-1"]),
    ]);
    let w = dir.path().join("w/template.yaml");
    std::fs::write(&w, meta("w", "").replace("os: linux", "os: windows")).unwrap();
    let m = dir.path().join("m/template.yaml");
    std::fs::write(&m, meta("other", "")).unwrap();
    let got = problems_of(dir.path(), "l2");
    assert_eq!(
        got,
        [
            "l2/template.yaml:7: includes \"w\", a windows template, into a linux template",
            "l2/template.yaml:7: includes \"m\", but that directory holds template \"other\"",
        ]
    );
}

#[test]
fn a_broken_included_template_reports_its_own_problems() {
    let dir = content(&[("l2", "includes: [l1]\n", &["B-1"]), ("l1", "", &["A-1"])]);
    let l1 = dir.path().join("l1/checks/a.yaml");
    let text = std::fs::read_to_string(&l1).unwrap();
    std::fs::write(&l1, text.replace("severity: low", "severity: urgent")).unwrap();
    let got = problems_of(dir.path(), "l2");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("l1/checks/a.yaml:4: check A-1: unknown variant `urgent`"),
        "{got:?}"
    );
}

#[test]
fn included_checks_come_first_in_include_order_transitively() {
    let dir = content(&[
        ("top", "includes: [mid, side]\n", &["T-1"]),
        ("mid", "includes: [base]\n", &["M-1", "M-2"]),
        ("side", "includes: [base]\n", &["S-1"]),
        ("base", "", &["B-1", "B-2"]),
    ]);
    // base reached twice (through mid and side) counts once.
    assert_eq!(
        ids_of(dir.path(), "top"),
        ["B-1", "B-2", "M-1", "M-2", "S-1", "T-1"]
    );
    assert_eq!(ids_of(dir.path(), "mid"), ["B-1", "B-2", "M-1", "M-2"]);
    let loaded = load_path(&dir.path().join("top")).unwrap();
    let at = loaded.location_of("B-2").unwrap();
    assert!(
        at.file.ends_with("base/checks/a.yaml") && at.line == 12,
        "{at:?}"
    );
    assert_eq!(loaded.template.id, "top");
}

#[test]
fn exclude_leaves_out_included_checks_so_a_level_can_replace_them() {
    let dir = content(&[
        ("l2", "includes: [l1]\nexclude: [A-2]\n", &["A-2", "B-1"]),
        ("l1", "", &["A-1", "A-2", "A-3"]),
    ]);
    assert_eq!(ids_of(dir.path(), "l2"), ["A-1", "A-3", "A-2", "B-1"]);
    let loaded = load_path(&dir.path().join("l2")).unwrap();
    assert!(
        loaded
            .location_of("A-2")
            .unwrap()
            .file
            .ends_with("l2/checks/a.yaml")
    );
}

#[test]
fn a_template_file_includes_the_template_directories_beside_it() {
    let dir = content(&[("l1", "", &["A-1"])]);
    let file = dir.path().join("mine.yaml");
    let text = format!(
        "{}checks:\n{}",
        meta("mine", "includes: [l1]\n"),
        check("C-1")
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>()
    );
    std::fs::write(&file, text).unwrap();
    assert_eq!(ids_of(dir.path(), "mine.yaml"), ["A-1", "C-1"]);
}
