//! The Windows check kinds, one table per kind: on evidence rendered from test cases (the
//! `windows2022` base layout, as content's inline tests use it) and on recorded tool outputs
//! in the formats the tools print (fixtures/windows/server2022).

use std::path::{Path, PathBuf};

use bulwark_core::template::TestCase;
use bulwark_core::{Check, Expectation, OsKind, Probe, Status};
use bulwark_engine::evaluate::{evaluate, run_probe};
use bulwark_engine::fixture::FixtureRoot;
use bulwark_engine::{Facts, HostRoot};

use Status::{Error, Fail, Pass, Skip};

/// (probe, expectation, host: a test case in YAML or `recorded`, wanted status)
type Case = (&'static str, Option<&'static str>, &'static str, Status);

fn recorded() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/windows/server2022")
}

fn check(cases: &[Case]) {
    for (i, (probe, expect, host, want)) in cases.iter().enumerate() {
        let probe: Probe =
            serde_saphyr::from_str(probe).unwrap_or_else(|e| panic!("case {i} probe: {e}"));
        let expect: Option<Expectation> = expect
            .map(|e| serde_saphyr::from_str(e).unwrap_or_else(|e| panic!("case {i} expect: {e}")));
        let (_keep, root) = if *host == "recorded" {
            (None, recorded())
        } else {
            let case: TestCase =
                serde_saphyr::from_str(host).unwrap_or_else(|e| panic!("case {i} host: {e}"));
            let root = FixtureRoot::new(&case).unwrap();
            let path = root.path();
            (Some(root), path)
        };
        let host_root = HostRoot::offline(&root);
        let os = host_root.detect_os().unwrap();
        assert_eq!(os.kind, OsKind::Windows, "case {i}");
        let outcome = run_probe(&Facts::new(host_root, os), &probe, expect.as_ref());
        assert_eq!(outcome.status, *want, "case {i}: {probe:?}\n{outcome:?}");
    }
}

const UAC: &str = r"{kind: registry_value, key: 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System', name: EnableLUA}";

#[test]
fn registry_value() {
    check(&[
        (
            UAC,
            Some("{op: equals, value: 1}"),
            "{os: windows2022, registry: {'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System': {EnableLUA: 1}}}",
            Pass,
        ),
        (
            UAC,
            Some("{op: equals, value: 1}"),
            "{os: windows2022, registry: {'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System': {EnableLUA: 0}}}",
            Fail,
        ),
        (
            UAC,
            Some("{op: equals, value: 1}"),
            "{os: windows2022}",
            Fail,
        ),
        (UAC, Some("{op: absent}"), "{os: windows2022}", Pass),
        // Key and value names compare case-insensitively; the long hive name works too.
        (
            r"{kind: registry_value, key: 'hkey_local_machine\software\microsoft\windows\currentversion\policies\system', name: enablelua}",
            Some("{op: equals, value: 1}"),
            "{os: windows2022, registry: {'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System': {EnableLUA: 1}}}",
            Pass,
        ),
        // Strings and multi-strings.
        (
            r"{kind: registry_value, key: 'HKLM\SOFTWARE\X', name: Text}",
            Some("{op: equals, value: 'hello world'}"),
            "{os: windows2022, registry: {'HKLM\\SOFTWARE\\X': {Text: hello world}}}",
            Pass,
        ),
        (
            r"{kind: registry_value, key: 'HKLM\SOFTWARE\X', name: Pipes}",
            Some("{op: set_equals, value: [b, a]}"),
            "{os: windows2022, registry: {'HKLM\\SOFTWARE\\X': {Pipes: [a, b]}}}",
            Pass,
        ),
        (
            r"{kind: registry_value, key: 'HKLM\SOFTWARE\X', name: Big}",
            Some("{op: ge, value: 900000}"),
            "{os: windows2022, registry: {'HKLM\\SOFTWARE\\X': {Big: 900000}}}",
            Pass,
        ),
        // Recorded output of reg query /s.
        (UAC, Some("{op: equals, value: 1}"), "recorded", Pass),
        (
            r"{kind: registry_value, key: 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System', name: InactivityTimeoutSecs}",
            Some("{op: le, value: 900}"),
            "recorded",
            Pass,
        ),
        (
            r"{kind: registry_value, key: 'HKLM\SYSTEM\CurrentControlSet\Control\Lsa', name: LmCompatibilityLevel}",
            Some("{op: equals, value: 5}"),
            "recorded",
            Pass,
        ),
        (
            r"{kind: registry_value, key: 'HKLM\SYSTEM\CurrentControlSet\Control\Lsa\MSV1_0', name: NTLMMinServerSec}",
            Some("{op: equals, value: 537395200}"),
            "recorded",
            Pass,
        ),
        (
            r"{kind: registry_value, key: 'HKLM\SYSTEM\CurrentControlSet\Control\Lsa', name: Notification Packages}",
            Some("{op: equals, value: 'scecli,rassfm'}"),
            "recorded",
            Pass,
        ),
        (
            r"{kind: registry_value, key: 'HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters', name: NullSessionPipes}",
            Some("{op: set_equals, value: []}"),
            "recorded",
            Pass,
        ),
        (
            r"{kind: registry_value, key: 'HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters', name: SMB1}",
            Some("{op: equals, value: 0}"),
            "recorded",
            Pass,
        ),
        (
            r"{kind: registry_value, key: 'HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services', name: MinEncryptionLevel}",
            Some("{op: equals, value: 3}"),
            "recorded",
            Pass,
        ),
        (
            r"{kind: registry_value, key: 'HKLM\SOFTWARE\Policies\Microsoft\WindowsFirewall\PublicProfile', name: EnableFirewall}",
            Some("{op: equals, value: 1}"),
            "recorded",
            Fail,
        ),
        (
            r"{kind: registry_value, key: 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System', name: NoConnectedUser}",
            Some("{op: equals, value: 3}"),
            "recorded",
            Fail,
        ),
    ]);
}

#[test]
fn security_policy() {
    let rights = "{kind: security_policy, section: Privilege Rights, key: SeNetworkLogonRight}";
    let length = "{kind: security_policy, section: System Access, key: MinimumPasswordLength}";
    check(&[
        (
            length,
            Some("{op: ge, value: 14}"),
            "{os: windows2022, security_policy: {System Access: {MinimumPasswordLength: 14}}}",
            Pass,
        ),
        (
            length,
            Some("{op: ge, value: 14}"),
            "{os: windows2022, security_policy: {System Access: {MinimumPasswordLength: 8}}}",
            Fail,
        ),
        (
            length,
            Some("{op: ge, value: 14}"),
            "{os: windows2022}",
            Fail,
        ),
        (
            rights,
            Some("{op: set_equals, value: [S-1-5-32-544, S-1-5-11]}"),
            "{os: windows2022, security_policy: {Privilege Rights: {SeNetworkLogonRight: '*S-1-5-32-544,*S-1-5-11'}}}",
            Pass,
        ),
        (
            rights,
            Some("{op: set_equals, value: 'S-1-5-32-544,S-1-5-11'}"),
            "{os: windows2022, security_policy: {Privilege Rights: {SeNetworkLogonRight: '*S-1-1-0,*S-1-5-32-544,*S-1-5-11'}}}",
            Fail,
        ),
        (
            rights,
            Some("{op: subset_of, value: [S-1-5-32-544, S-1-5-11]}"),
            "{os: windows2022, security_policy: {Privilege Rights: {SeNetworkLogonRight: '*S-1-5-32-544'}}}",
            Pass,
        ),
        (
            rights,
            Some("{op: subset_of, value: [S-1-5-32-544, S-1-5-11]}"),
            "{os: windows2022, security_policy: {Privilege Rights: {SeNetworkLogonRight: '*S-1-1-0'}}}",
            Fail,
        ),
        // A right granted to no one is not in the file: the empty set.
        (
            rights,
            Some("{op: subset_of, value: [S-1-5-32-544]}"),
            "{os: windows2022}",
            Pass,
        ),
        (rights, Some("{op: absent}"), "{os: windows2022}", Pass),
        // Recorded secedit export (UTF-16LE with a byte order mark).
        (length, Some("{op: ge, value: 14}"), "recorded", Pass),
        (
            "{kind: security_policy, section: System Access, key: PasswordHistorySize}",
            Some("{op: ge, value: 24}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: security_policy, section: System Access, key: MaximumPasswordAge}",
            Some("{op: le, value: 365}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: security_policy, section: System Access, key: LockoutBadCount}",
            Some("{op: le, value: 5}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: security_policy, section: System Access, key: EnableGuestAccount}",
            Some("{op: equals, value: 0}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: security_policy, section: System Access, key: NewGuestName}",
            Some("{op: not_equals, value: Guest}"),
            "recorded",
            Pass,
        ),
        (
            rights,
            Some("{op: set_equals, value: [S-1-5-11, S-1-5-32-544]}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: security_policy, section: Privilege Rights, key: SeDebugPrivilege}",
            Some("{op: set_equals, value: [S-1-5-32-544]}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: security_policy, section: Privilege Rights, key: SeTcbPrivilege}",
            Some("{op: absent}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: security_policy, section: Privilege Rights, key: SeDenyNetworkLogonRight}",
            Some("{op: set_equals, value: [Guest, S-1-5-113]}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: security_policy, section: Privilege Rights, key: SeChangeNotifyPrivilege}",
            Some("{op: subset_of, value: [S-1-5-32-544]}"),
            "recorded",
            Fail,
        ),
        (
            r"{kind: security_policy, section: Registry Values, key: 'MACHINE\System\CurrentControlSet\Control\Lsa\LimitBlankPasswordUse'}",
            Some("{op: equals, value: '4,1'}"),
            "recorded",
            Pass,
        ),
    ]);
}

#[test]
fn audit_policy() {
    let cv = "{kind: audit_policy, subcategory: Credential Validation}";
    check(&[
        (
            cv,
            Some("{op: equals, value: Success and Failure}"),
            "{os: windows2022, audit_policy: {Credential Validation: Success and Failure}}",
            Pass,
        ),
        (
            cv,
            Some("{op: contains, value: Failure}"),
            "{os: windows2022, audit_policy: {Credential Validation: Success}}",
            Fail,
        ),
        (
            cv,
            Some("{op: contains, value: Success}"),
            "{os: windows2022}",
            Fail,
        ),
        (
            cv,
            Some("{op: equals, value: Success and Failure}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: audit_policy, subcategory: account lockout}",
            Some("{op: contains, value: Failure}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: audit_policy, subcategory: Other Logon/Logoff Events}",
            Some("{op: equals, value: Success and Failure}"),
            "recorded",
            Fail,
        ),
        (
            "{kind: audit_policy, subcategory: User / Device Claims}",
            Some("{op: equals, value: No Auditing}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: audit_policy, subcategory: Process Creation}",
            Some("{op: contains, value: Success}"),
            "recorded",
            Pass,
        ),
    ]);
}

#[test]
fn service_state_on_windows() {
    let rr = "{kind: service_state, name: RemoteRegistry}";
    let off = "{op: in, value: [disabled, absent]}";
    check(&[
        (
            rr,
            Some(off),
            "{os: windows2022, services: {RemoteRegistry: disabled}}",
            Pass,
        ),
        (rr, Some(off), "{os: windows2022}", Pass),
        (
            rr,
            Some(off),
            "{os: windows2022, services: {RemoteRegistry: manual}}",
            Fail,
        ),
        (
            rr,
            Some(off),
            "{os: windows2022, services: {RemoteRegistry: enabled}}",
            Fail,
        ),
        (
            rr,
            Some("{op: equals, value: manual}"),
            "{os: windows2022, services: {RemoteRegistry: manual}}",
            Pass,
        ),
        (rr, Some("{op: equals, value: disabled}"), "recorded", Pass),
        (
            "{kind: service_state, name: spooler}",
            Some(off),
            "recorded",
            Fail,
        ),
        (
            "{kind: service_state, name: BITS}",
            Some("{op: equals, value: enabled}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: service_state, name: wuauserv}",
            Some("{op: equals, value: manual}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: service_state, name: Browser}",
            Some("{op: equals, value: absent}"),
            "recorded",
            Pass,
        ),
        (
            "{kind: service_state, name: [Browser, SSDPSRV]}",
            Some("{op: equals, value: disabled}"),
            "recorded",
            Pass,
        ),
    ]);
}

#[test]
fn login_banner_on_windows() {
    let banner = "{kind: login_banner}";
    let key = "'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System'";
    let both = format!(
        "{{os: windows2022, registry: {{{key}: {{LegalNoticeCaption: Notice, LegalNoticeText: Authorized use only}}}}}}"
    );
    let caption = format!(
        "{{os: windows2022, registry: {{{key}: {{LegalNoticeCaption: Notice, LegalNoticeText: ''}}}}}}"
    );
    let both: &'static str = Box::leak(both.into_boxed_str());
    let caption: &'static str = Box::leak(caption.into_boxed_str());
    check(&[
        (banner, None, both, Pass),
        (banner, None, caption, Fail),
        (banner, None, "{os: windows2022}", Fail),
        (
            "{kind: login_banner, require_text: false}",
            None,
            "{os: windows2022}",
            Pass,
        ),
        (banner, None, "recorded", Pass),
    ]);
}

#[test]
fn missing_evidence_is_an_error_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("bulwark-evidence/windows");
    std::fs::create_dir_all(&evidence).unwrap();
    std::fs::copy(
        recorded().join("bulwark-evidence/windows/os.txt"),
        evidence.join("os.txt"),
    )
    .unwrap();
    let host = HostRoot::offline(dir.path());
    let os = host.detect_os().unwrap();
    let probe: Probe = serde_saphyr::from_str("{kind: audit_policy, subcategory: Logon}").unwrap();
    let expect: Expectation = serde_saphyr::from_str("{op: absent}").unwrap();
    let outcome = run_probe(&Facts::new(host, os), &probe, Some(&expect));
    assert_eq!(outcome.status, Error, "{outcome:?}");
    assert!(outcome.reason.unwrap().contains("auditpol.csv is missing"));
}

#[test]
fn windows_roots_are_recognised_and_checks_skip_on_the_other_os() {
    let host = HostRoot::offline(recorded());
    let os = host.detect_os().unwrap();
    assert_eq!(
        (
            os.kind,
            os.id.as_str(),
            os.version_id.as_str(),
            os.pretty_name.as_str()
        ),
        (
            OsKind::Windows,
            "windows-server",
            "2022",
            "Windows Server 2022 Datacenter"
        )
    );
    let windows_check: Check = serde_saphyr::from_str(&format!(
        "{{id: W-1, title: t, category: Security Options, severity: low, description: d, rationale: r, remediation: {{text: f}}, probe: {UAC}, expect: {{op: equals, value: 1}}}}"
    ))
    .unwrap();
    let linux_check: Check = serde_saphyr::from_str(
        "{id: L-1, title: t, category: Services, severity: low, description: d, rationale: r, remediation: {text: f}, probe: {kind: file_exists, path: /etc/issue}}",
    )
    .unwrap();
    let facts = Facts::new(host, os);
    assert_eq!(
        evaluate(&facts, OsKind::Windows, &windows_check).status,
        Pass
    );
    assert_eq!(evaluate(&facts, OsKind::Linux, &linux_check).status, Skip);
    let debian = FixtureRoot::new(&TestCase::default()).unwrap();
    let host = HostRoot::offline(debian.path());
    let os = host.detect_os().unwrap();
    let outcome = evaluate(&Facts::new(host, os), OsKind::Windows, &windows_check);
    assert_eq!(outcome.status, Skip, "{outcome:?}");
    assert_eq!(
        outcome.reason.as_deref(),
        Some("windows check on a linux host")
    );
}

#[test]
fn the_rendered_evidence_is_in_the_tools_formats() {
    let case: TestCase = serde_saphyr::from_str(
        "{os: windows2022, registry: {'HKLM\\SOFTWARE\\X': {A: 1, B: two, C: [one, two]}}, security_policy: {System Access: {MinimumPasswordLength: 14}}, audit_policy: {Logon: Success}, services: {RemoteRegistry: disabled}}",
    )
    .unwrap();
    let root = FixtureRoot::new(&case).unwrap();
    let dir = root.path().join("bulwark-evidence/windows");
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let reg = String::from_utf8(read("reg-query.txt")).unwrap();
    assert!(reg.contains("\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\X\r\n    A    REG_DWORD    0x1\r\n    B    REG_SZ    two\r\n    C    REG_MULTI_SZ    one\\0two\r\n"), "{reg:?}");
    let inf = read("secedit.inf");
    assert_eq!(
        &inf[..2],
        &[0xFF, 0xFE],
        "secedit writes UTF-16LE with a byte order mark"
    );
    let units: Vec<u16> = inf[2..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units).unwrap();
    assert!(
        text.starts_with(
            "[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nMinimumPasswordLength = 14\r\n"
        ),
        "{text:?}"
    );
    let csv = String::from_utf8(read("auditpol.csv")).unwrap();
    assert!(csv.starts_with("Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting\r\n"));
    assert!(csv.contains(",System,Logon,{"), "{csv}");
    let sc = String::from_utf8(read("services.txt")).unwrap();
    assert!(
        sc.contains("SERVICE_NAME: RemoteRegistry\r\n")
            && sc.contains("START_TYPE         : 4   DISABLED\r\n"),
        "{sc}"
    );
    // Linux-only and Windows-only case fields do not mix.
    for bad in [
        "{registry: {'HKLM\\SOFTWARE\\X': {A: 1}}}",
        "{services: {x.service: manual}}",
        "{os: windows2022, services: {X: masked}}",
        "{os: windows2022, packages: [sudo]}",
    ] {
        let case: TestCase = serde_saphyr::from_str(bad).unwrap();
        assert!(FixtureRoot::new(&case).is_err(), "{bad}");
    }
}
