//! The kinds the server evaluates itself, from the inventory an agent already syncs: software
//! installed (case-insensitive, `*`/`?` wildcards) and service running. They run after the
//! host's distro/version overrides are applied and before exceptions.

use bulwark_core::probe::Probe;
use bulwark_core::{Check, CheckOutcome};
use glob::{MatchOptions, Pattern};

/// Inventory category names, as agents send them and the store keeps them.
pub const SOFTWARE: &str = "software";
pub const SERVICES: &str = "services";

pub use bulwark_core::inventory::{Service, Software};

/// What the server knows of a host; `None` when the agent has not sent that category yet.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub software: Option<Vec<Software>>,
    pub services: Option<Vec<Service>>,
}

const CASE_INSENSITIVE: MatchOptions = MatchOptions {
    case_sensitive: false,
    require_literal_separator: false,
    require_literal_leading_dot: false,
};

/// The outcome of a server-evaluated probe, or `None` for any other kind.
pub fn evaluate(probe: &Probe, inventory: &Inventory) -> Option<CheckOutcome> {
    let expected = Check::describe_expectation(probe, None);
    Some(match probe {
        Probe::SoftwareInstalled { name } => {
            let Some(software) = &inventory.software else {
                return Some(CheckOutcome::error(
                    expected,
                    "the host has not sent its software inventory yet",
                ));
            };
            let pattern = match Pattern::new(name) {
                Ok(p) => p,
                Err(e) => {
                    return Some(CheckOutcome::error(
                        expected,
                        format!("bad pattern {name:?}: {e}"),
                    ));
                }
            };
            match software
                .iter()
                .find(|s| pattern.matches_with(&s.name, CASE_INSENSITIVE))
            {
                Some(s) => CheckOutcome::judged(
                    true,
                    Some(format!("{} {}", s.name, s.version).trim().to_owned()),
                    format!("{name} installed"),
                ),
                None => CheckOutcome::judged(
                    false,
                    Some("not installed".into()),
                    format!("{name} installed"),
                ),
            }
        }
        Probe::ServiceRunning { name } => {
            let Some(services) = &inventory.services else {
                return Some(CheckOutcome::error(
                    expected,
                    "the host has not sent its service inventory yet",
                ));
            };
            let want = format!("{name} running");
            match services.iter().find(|s| s.name.eq_ignore_ascii_case(name)) {
                Some(s) if s.state == "unknown" => {
                    return Some(CheckOutcome::error(
                        expected,
                        format!(
                            "the agent cannot tell whether {name} runs: {}",
                            s.state_source
                        ),
                    ));
                }
                Some(s) => {
                    let running = ["running", "active"]
                        .iter()
                        .any(|r| s.state.eq_ignore_ascii_case(r));
                    CheckOutcome::judged(running, Some(s.state.clone()), want)
                }
                None => CheckOutcome::judged(false, Some("not installed".into()), want),
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory() -> Inventory {
        Inventory {
            software: Some(vec![
                Software {
                    name: "Microsoft Defender Antivirus".into(),
                    version: "4.18".into(),
                },
                Software {
                    name: "openssh-server".into(),
                    version: "1:9.2p1".into(),
                },
            ]),
            services: Some(vec![
                Service {
                    name: "WinDefend".into(),
                    state: "Running".into(),
                    start_type: String::new(),
                    state_source: String::new(),
                },
                Service {
                    name: "sshd".into(),
                    state: "active".into(),
                    start_type: String::new(),
                    state_source: String::new(),
                },
                Service {
                    name: "cron".into(),
                    state: "unknown".into(),
                    start_type: "enabled".into(),
                    state_source: "offline root: only the running system knows".into(),
                },
                Service {
                    name: "Spooler".into(),
                    state: "stopped".into(),
                    start_type: String::new(),
                    state_source: String::new(),
                },
            ]),
        }
    }

    #[test]
    fn software_and_services_from_inventory() {
        let sw = |n: &str| Probe::SoftwareInstalled { name: n.into() };
        let svc = |n: &str| Probe::ServiceRunning { name: n.into() };
        let cases = [
            (
                sw("microsoft defender*"),
                "pass",
                "Microsoft Defender Antivirus 4.18",
            ),
            (sw("OpenSSH-Server"), "pass", "openssh-server 1:9.2p1"),
            (sw("openssh-serve?"), "pass", "openssh-server 1:9.2p1"),
            (sw("telnetd"), "fail", "not installed"),
            (svc("windefend"), "pass", "Running"),
            (svc("SSHD"), "pass", "active"),
            (svc("spooler"), "fail", "stopped"),
            (svc("auditd"), "fail", "not installed"),
        ];
        let unknown = evaluate(&svc("cron"), &inventory()).unwrap();
        assert_eq!(unknown.status.as_str(), "error", "unknown is not a verdict");
        assert!(
            unknown
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains("offline root"),
            "{unknown:?}"
        );
        for (probe, status, actual) in cases {
            let out = evaluate(&probe, &inventory()).unwrap();
            assert_eq!(
                (out.status.as_str(), out.actual.as_deref()),
                (status, Some(actual)),
                "{probe:?}"
            );
        }
        let empty = Inventory::default();
        assert_eq!(evaluate(&sw("x"), &empty).unwrap().status.as_str(), "error");
        assert_eq!(
            evaluate(&svc("x"), &empty).unwrap().status.as_str(),
            "error"
        );
        assert!(evaluate(&Probe::Sysctl { key: "k".into() }, &empty).is_none());
    }
}
