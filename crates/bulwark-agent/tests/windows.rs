//! End to end on Windows evidence: a Windows template whose inline tests use the promised
//! test-case fields lints clean, and a scan of the recorded Windows Server 2022 evidence root
//! (fixtures/windows/server2022) judges every Windows kind.

use std::path::Path;
use std::process::{Command, Output};

const TEMPLATE: &str = r#"id: win-test
name: Windows test
framework: custom
os: windows
version: "1"
benchmark: none
checks:
  - id: W-UAC
    title: UAC is on
    category: Security Options
    severity: high
    description: d
    rationale: r
    remediation: { text: fix }
    probe:
      kind: registry_value
      key: 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'
      name: EnableLUA
    expect: { op: equals, value: 1 }
    tests:
      pass:
        - os: windows2022
          registry:
            'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System':
              EnableLUA: 1
          security_policy:
            System Access:
              MinimumPasswordLength: 14
            Privilege Rights:
              SeNetworkLogonRight: "*S-1-5-32-544,*S-1-5-11"
          audit_policy:
            Credential Validation: Success and Failure
          services:
            RemoteRegistry: disabled
      fail:
        - os: windows2022
  - id: W-LEN
    title: Passwords are long
    category: Password Policy
    severity: medium
    description: d
    rationale: r
    remediation: { text: fix }
    probe: { kind: security_policy, section: System Access, key: MinimumPasswordLength }
    expect: { op: ge, value: 14 }
    tests:
      pass: [{ os: windows2022, security_policy: { System Access: { MinimumPasswordLength: 14 } } }]
      fail: [{ os: windows2022, security_policy: { System Access: { MinimumPasswordLength: 7 } } }]
  - id: W-NET
    title: Network logon is limited
    category: User Rights Assignment
    severity: medium
    description: d
    rationale: r
    remediation: { text: fix }
    probe: { kind: security_policy, section: Privilege Rights, key: SeNetworkLogonRight }
    expect: { op: subset_of, value: [S-1-5-32-544, S-1-5-11] }
    tests:
      pass: [{ os: windows2022, security_policy: { Privilege Rights: { SeNetworkLogonRight: "*S-1-5-32-544,*S-1-5-11" } } }]
      fail: [{ os: windows2022, security_policy: { Privilege Rights: { SeNetworkLogonRight: "*S-1-1-0" } } }]
  - id: W-AUD
    title: Credential validation is audited
    category: Audit Policy
    severity: medium
    description: d
    rationale: r
    remediation: { text: fix }
    probe: { kind: audit_policy, subcategory: Credential Validation }
    expect: { op: equals, value: Success and Failure }
    tests:
      pass: [{ os: windows2022, audit_policy: { Credential Validation: Success and Failure } }]
      fail: [{ os: windows2022, audit_policy: { Credential Validation: Success } }]
  - id: W-SVC
    title: Remote Registry is off
    category: Services
    severity: medium
    description: d
    rationale: r
    remediation: { text: fix }
    probe: { kind: service_state, name: RemoteRegistry }
    expect: { op: in, value: [disabled, absent] }
    tests:
      pass: [{ os: windows2022, services: { RemoteRegistry: disabled } }, { os: windows2022 }]
      fail: [{ os: windows2022, services: { RemoteRegistry: manual } }]
  - id: W-SPOOL
    title: Print Spooler is off
    category: Services
    severity: low
    description: d
    rationale: r
    remediation: { text: fix }
    probe: { kind: service_state, name: Spooler }
    expect: { op: in, value: [disabled, absent] }
    tests:
      pass: [{ os: windows2022 }]
      fail: [{ os: windows2022, services: { Spooler: enabled } }]
  - id: W-BANNER
    title: A logon banner is shown
    category: Logon Banner
    severity: low
    description: d
    rationale: r
    remediation: { text: fix }
    probe: { kind: login_banner }
    tests:
      pass:
        - os: windows2022
          registry:
            'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System':
              LegalNoticeCaption: Notice
              LegalNoticeText: Authorized use only.
      fail: [{ os: windows2022 }]
"#;

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bulwark-agent"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_windows_template_lints_and_scans_recorded_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("win-test.yaml");
    std::fs::write(&file, TEMPLATE).unwrap();
    let file = file.to_str().unwrap();
    let lint = agent(&["content", "lint", file]);
    assert!(
        lint.status.success(),
        "{}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    assert!(String::from_utf8_lossy(&lint.stdout).contains("win-test: 7 checks, 15 test cases"));

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/windows/server2022");
    let out = agent(&[
        "scan",
        "--root",
        root.to_str().unwrap(),
        "--file",
        file,
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["host"]["os_name"], "Windows Server 2022 Datacenter");
    assert_eq!(report["host"]["hostname"], "WIN-SRV22");
    let statuses: Vec<(String, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("W-UAC", "pass"),
        ("W-LEN", "pass"),
        ("W-NET", "pass"),
        ("W-AUD", "pass"),
        ("W-SVC", "pass"),
        ("W-SPOOL", "fail"),
        ("W-BANNER", "pass"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(statuses, want);
}

/// Another OS's template would judge nothing and still look like a scan: refused, exit 2.
#[test]
fn a_windows_template_on_a_linux_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("win-test.yaml");
    std::fs::write(&file, TEMPLATE).unwrap();
    std::fs::create_dir_all(dir.path().join("root/etc")).unwrap();
    std::fs::write(
        dir.path().join("root/etc/os-release"),
        "ID=debian\nVERSION_ID=12\n",
    )
    .unwrap();
    let out = agent(&[
        "scan",
        "--root",
        dir.path().join("root").to_str().unwrap(),
        "--file",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no report");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("template win-test is written for windows, but this host runs linux"),
        "{stderr}"
    );
}
