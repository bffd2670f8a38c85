//! End to end: the `bulwark-agent` binary on Debian 12, Ubuntu 22.04 and RHEL 9 fixture roots
//! (fixtures/hosts/*.yaml), with a JSON snapshot per distribution, exit codes and errors.

mod common;

use common::fixture;
use std::path::Path;
use std::process::{Command, Output};

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bulwark-agent"))
        .args(args)
        .output()
        .unwrap()
}

fn scan_json(root: &Path) -> serde_json::Value {
    let out = agent(&["scan", "--root", root.to_str().unwrap(), "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn scans_of_fixture_roots_match_their_snapshots() {
    for name in ["debian12", "ubuntu2204", "rhel9"] {
        let root = fixture(name);
        let report = scan_json(&root.path());
        insta::assert_json_snapshot!(format!("scan-{name}"), report, {
            ".started_at" => "[started_at]",
            ".duration_ms" => "[duration_ms]",
            ".host.root" => "[root]",
        });
    }
}

#[test]
fn the_report_carries_what_the_issue_promises() {
    let root = fixture("debian12");
    let r = scan_json(&root.path());
    for key in [
        "template",
        "host",
        "started_at",
        "duration_ms",
        "score",
        "weighted_score",
        "risk",
        "counts",
        "results",
    ] {
        assert!(r.get(key).is_some(), "missing {key}");
    }
    let results = r["results"].as_array().unwrap();
    let find = |id: &str| {
        results
            .iter()
            .find(|x| x["id"] == id)
            .unwrap_or_else(|| panic!("no result {id}"))
    };
    // The failing telnet client shows the installed version as evidence.
    let telnet = find("CIS-2.2.4");
    assert_eq!(telnet["status"], "fail");
    assert!(
        telnet["actual"]
            .as_str()
            .unwrap()
            .contains("telnet 0.17+2.4-2"),
        "{telnet}"
    );
    // PasswordAuthentication etc. aside, PermitRootLogin no passes.
    assert_eq!(find("CIS-5.1.20")["status"], "pass");
    // A RHEL-only check is skipped with the reason.
    let selinux = find("CIS-1.3.1.2-rhel");
    assert_eq!(selinux["status"], "skip");
    assert!(
        selinux["reason"].as_str().unwrap().contains("applies to"),
        "{selinux}"
    );
}

#[test]
fn an_odd_file_makes_its_check_an_error_and_the_scan_goes_on() {
    let root = fixture("ubuntu2204");
    let r = scan_json(&root.path());
    let results = r["results"].as_array().unwrap();
    let banner = results.iter().find(|x| x["id"] == "CIS-1.6.3").unwrap();
    assert_eq!(banner["status"], "error", "{banner}");
    assert_eq!(
        banner["reason"],
        "/etc/issue.net: not a regular file (directory)"
    );
    assert!(r["counts"]["pass"].as_u64().unwrap() > 50);
}

#[test]
fn exit_codes_follow_the_threshold() {
    let root = fixture("rhel9");
    let root = root.path();
    let r = root.to_str().unwrap();
    assert_eq!(
        agent(&["scan", "--root", r, "--fail-under", "100"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        agent(&["scan", "--root", r, "--fail-under", "0"])
            .status
            .code(),
        Some(0)
    );
    let bad = agent(&["scan", "--root", r, "--fail-under", "101"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn every_format_renders() {
    let root = fixture("ubuntu2204");
    let r = root.path();
    let dir = tempfile::tempdir().unwrap();
    for (format, marker) in [
        ("table", "score "),
        ("junit", "<testsuite "),
        ("html", "<!doctype html>"),
        ("json", "\"results\""),
    ] {
        let out_file = dir.path().join(format!("report.{format}"));
        let out = agent(&[
            "scan",
            "--root",
            r.to_str().unwrap(),
            "--format",
            format,
            "--output",
            out_file.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&out_file).unwrap();
        assert!(text.contains(marker), "{format} lacks {marker:?}");
    }
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("Remediation:"), "findings carry remediation");
}

#[test]
fn a_root_that_is_not_linux_is_refused_before_scanning() {
    let dir = tempfile::tempdir().unwrap();
    let out = agent(&["scan", "--root", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a Linux root filesystem"), "{err}");
}

#[test]
fn unknown_template_and_bad_content_are_clear_errors() {
    let out = agent(&["scan", "--template", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no shipped template \"nope\""));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, "- id: X-1\n  title: t\n  colour: red\n").unwrap();
    let out = agent(&["content", "lint", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:3: check X-1: unknown field `colour`"),
        "{err}"
    );
}

#[test]
fn content_commands_show_the_shipped_templates() {
    let list = agent(&["content", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("cis-linux-l1"));
    let show = agent(&["content", "show", "cis-linux-l1", "--format", "json"]);
    let t: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let checks = t["checks"].as_array().unwrap();
    assert!(checks.len() >= 158);
    assert!(
        checks
            .iter()
            .all(|c| !c["tests"]["pass"].as_array().unwrap().is_empty()
                && !c["tests"]["fail"].as_array().unwrap().is_empty())
    );
}

#[test]
fn action_performs_one_host_action_here_and_refuses_code_and_passwords() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = agent(&[
        "action",
        &format!(r#"{{"type": "port_check", "target": "127.0.0.1", "port": {port}}}"#),
    ]);
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["succeeded"], true);
    assert!(
        report["summary"].as_str().unwrap().contains("is open"),
        "{report}"
    );

    let refused = agent(&["action", r#"{"type": "kill_process", "pid": 1}"#]);
    assert!(!refused.status.success());
    let report: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert!(
        report["summary"].as_str().unwrap().contains("pid"),
        "{report}"
    );

    for code in [
        r#"{"type": "script", "interpreter": "sh", "script": "id"}"#,
        r#"{"type": "reset_password", "name": "root"}"#,
    ] {
        let out = agent(&["action", code]);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("come only from the server"),
            "{out:?}"
        );
    }
}
