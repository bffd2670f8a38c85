//! On a live Windows machine: runs the standard tools (argv, no shell) and records their
//! output in an evidence directory, which is then scanned like an offline one. Compiled on
//! every platform; only run on Windows.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use bulwark_core::Template;
use bulwark_core::probe::Probe;

use super::{AUDITPOL_FILE, OS_FILE, REGISTRY_FILE, SECEDIT_FILE, SERVICES_FILE, VERSION_KEY};

/// The registry key a Windows login banner lives under.
pub const BANNER_KEY: &str =
    r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System";

/// What to record: the registry keys to query (with their subkeys) and the services to
/// describe.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Request {
    pub registry_keys: BTreeSet<String>,
    pub services: BTreeSet<String>,
}

impl Request {
    /// What the checks of a template read.
    pub fn for_template(template: &Template) -> Request {
        let mut r = Request::default();
        for check in &template.checks {
            let probes = check
                .variants()
                .into_iter()
                .map(|(p, _)| p)
                .chain(check.only_if.as_ref());
            for probe in probes {
                match probe {
                    Probe::RegistryValue { key, .. } => {
                        r.registry_keys.insert(super::registry::normalize_key(key));
                    }
                    Probe::LoginBanner { .. } => {
                        r.registry_keys.insert(BANNER_KEY.to_uppercase());
                    }
                    Probe::ServiceState { name } => r.services.extend(name.to_vec()),
                    _ => {}
                }
            }
        }
        r
    }
}

fn run(argv: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .map_err(|e| format!("{}: {e}", argv[0]))?;
    // reg and sc print their own "not found" errors, which the parsers skip; keep both streams.
    let mut bytes = out.stdout;
    bytes.extend(out.stderr);
    Ok(bytes)
}

/// Records the evidence for `request` into `dir` (the evidence directory itself).
pub fn collect(dir: &Path, request: &Request) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |file: &str, bytes: &[u8]| {
        fs::write(dir.join(file), bytes).map_err(|e| format!("{file}: {e}"))
    };
    let mut os = run(&["reg", "query", VERSION_KEY])?;
    os.extend(run(&["reg", "query", super::COMPUTER_NAME_KEY])?);
    write(OS_FILE, &os)?;
    let mut registry = Vec::new();
    for key in &request.registry_keys {
        registry.extend(run(&["reg", "query", key, "/s"])?);
        registry.extend(b"\r\n");
    }
    write(REGISTRY_FILE, &registry)?;
    let inf = dir.join(SECEDIT_FILE);
    let inf_arg = inf.to_string_lossy().to_string();
    run(&["secedit", "/export", "/cfg", &inf_arg, "/quiet"])?;
    if !inf.is_file() {
        return Err("secedit /export wrote no file (it needs an administrator)".into());
    }
    write(
        AUDITPOL_FILE,
        &run(&["auditpol", "/get", "/category:*", "/r"])?,
    )?;
    let mut services = Vec::new();
    for name in &request.services {
        services.extend(run(&["sc", "qc", name])?);
        services.extend(b"\r\n");
    }
    write(SERVICES_FILE, &services)
}

/// Records what the inventory reads (installed programs, services with state and start type)
/// into `dir`, beside the system's identity.
pub fn collect_inventory(dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |file: &str, bytes: &[u8]| {
        fs::write(dir.join(file), bytes).map_err(|e| format!("{file}: {e}"))
    };
    let mut os = run(&["reg", "query", VERSION_KEY])?;
    os.extend(run(&["reg", "query", super::COMPUTER_NAME_KEY])?);
    write(OS_FILE, &os)?;
    let mut software = Vec::new();
    for key in super::inventory::UNINSTALL_KEYS {
        software.extend(run(&["reg", "query", key, "/s"])?);
        software.extend(b"\r\n");
    }
    write(super::SOFTWARE_FILE, &software)?;
    write(
        super::SERVICE_STATES_FILE,
        &run(&["sc", "queryex", "type=", "service", "state=", "all"])?,
    )?;
    write(
        super::SERVICE_STARTS_FILE,
        &run(&[
            "reg",
            "query",
            super::inventory::SERVICES_KEY,
            "/s",
            "/v",
            "Start",
        ])?,
    )
}

/// Evidence recorded on this machine in a temporary root, removed on drop.
pub struct LiveEvidence {
    dir: tempfile::TempDir,
}

impl LiveEvidence {
    /// Runs the tools for what `template` reads.
    pub fn record(template: &Template) -> Result<LiveEvidence, String> {
        let dir = tempfile::Builder::new()
            .prefix("bulwark-evidence-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let evidence = dir.path().join(super::EVIDENCE_DIR.trim_start_matches('/'));
        collect(&evidence, &Request::for_template(template))?;
        Ok(LiveEvidence { dir })
    }

    /// Runs the tools for what the inventory reads.
    pub fn record_inventory() -> Result<LiveEvidence, String> {
        let dir = tempfile::Builder::new()
            .prefix("bulwark-evidence-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        collect_inventory(&dir.path().join(super::EVIDENCE_DIR.trim_start_matches('/')))?;
        Ok(LiveEvidence { dir })
    }

    /// The root to scan: the evidence directory is under it, as in an offline evidence root.
    pub fn root(&self) -> crate::host::HostRoot {
        crate::host::HostRoot::offline(self.dir.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_what_the_checks_read() {
        let check = |id: &str, category: &str, probe: &str| {
            format!(
                "  - {{id: {id}, title: t, category: {category}, severity: low, description: d, rationale: r, remediation: {{text: f}}, probe: {probe}}}\n"
            )
        };
        let yaml = format!(
            "id: w\nname: w\nframework: custom\nos: windows\nversion: '1'\nbenchmark: b\nchecks:\n{}{}{}",
            check(
                "A",
                "Services",
                r"{kind: registry_value, key: 'HKLM\SOFTWARE\X', name: V}"
            ),
            check(
                "B",
                "Services",
                "{kind: service_state, name: [RemoteRegistry, Browser]}"
            ),
            check("C", "Logon Banner", "{kind: login_banner}"),
        );
        let template: Template = serde_saphyr::from_str(&yaml).unwrap();
        let r = Request::for_template(&template);
        assert_eq!(
            r.registry_keys.into_iter().collect::<Vec<_>>(),
            [
                r"HKEY_LOCAL_MACHINE\SOFTWARE\MICROSOFT\WINDOWS\CURRENTVERSION\POLICIES\SYSTEM",
                r"HKEY_LOCAL_MACHINE\SOFTWARE\X"
            ]
        );
        assert_eq!(
            r.services.into_iter().collect::<Vec<_>>(),
            ["Browser", "RemoteRegistry"]
        );
    }
}
