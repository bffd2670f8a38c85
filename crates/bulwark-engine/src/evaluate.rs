//! Evaluation of one check: resolve it for the host, run its probe's collector, judge the
//! collected value. Never fails; every problem is an outcome.

use std::time::Duration;

use bulwark_core::probe::{Judgement, Probe};
use bulwark_core::template::Resolved;
use bulwark_core::{Check, CheckOutcome, Expectation, OsKind};

use crate::collect::{
    accounts, audit, banner, command, config, files, listening, modules, mounts, pam, services,
    sysctl, walk,
};
use crate::facts::Facts;

pub fn evaluate(facts: &Facts, template_os: OsKind, check: &Check) -> CheckOutcome {
    match check.resolve(template_os, &facts.os) {
        Resolved::NotApplicable(reason) => CheckOutcome::skip(
            Check::describe_expectation(&check.probe, check.expect.as_ref()),
            reason,
        ),
        Resolved::Run { probe, expect } => {
            if let Some(condition) = &check.only_if {
                let holds = run_probe(facts, condition, None);
                if holds.status != bulwark_core::Status::Pass {
                    let seen = holds.actual.or(holds.reason).unwrap_or_default();
                    return CheckOutcome::skip(
                        Check::describe_expectation(probe, expect),
                        format!("not applicable: needs {} ({seen})", holds.expected),
                    );
                }
            }
            run_probe(facts, probe, expect)
        }
    }
}

/// Judges labelled observations: every one must meet the expectation.
fn judge_values(expect: &Expectation, observations: Vec<(String, Option<String>)>) -> CheckOutcome {
    let passed = observations
        .iter()
        .all(|(_, v)| expect.matches(v.as_deref()));
    let actual = observations
        .iter()
        .map(|(label, v)| {
            let v = v.as_deref().unwrap_or("absent");
            if label.is_empty() {
                v.to_string()
            } else {
                format!("{v} ({label})")
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    CheckOutcome::judged(passed, Some(actual), expect.to_string())
}

pub fn run_probe(facts: &Facts, probe: &Probe, expect: Option<&Expectation>) -> CheckOutcome {
    let default_expect;
    let expect = match (expect, probe.judgement()) {
        (Some(e), _) => Some(e),
        (None, Judgement::DefaultExpectation(e)) => {
            default_expect = e;
            Some(&default_expect)
        }
        (None, _) => None,
    };
    let value_expect = || expect.ok_or_else(|| format!("kind {} needs an expect", probe.kind()));
    let host = &facts.host;
    let result: Result<CheckOutcome, String> = (|| match probe {
        Probe::FileExists { path } => Ok(judge_values(
            value_expect()?,
            vec![(path.clone(), files::exists(facts, path))],
        )),
        Probe::FilePermissions {
            path,
            path_from,
            containing,
            max_mode,
            owner,
            group,
            missing,
        } => Ok(files::permissions(
            facts,
            &files::PermissionQuery {
                path,
                path_from: path_from.as_ref(),
                containing: containing.as_deref(),
                max_mode: max_mode.as_deref(),
                owner: owner.as_ref(),
                group: group.as_ref(),
                missing: *missing,
            },
        )),
        Probe::FileContent {
            path,
            pattern,
            line_match,
            lines,
            includes,
            ignore_comments,
            missing,
        } => Ok(files::content(
            facts,
            &files::ContentQuery {
                paths: path,
                pattern,
                line_match: *line_match,
                lines: lines.as_deref(),
                includes: *includes,
                ignore_comments: *ignore_comments,
                missing: *missing,
            },
        )),
        Probe::ConfigValue {
            path,
            format,
            key,
            section,
            dropins,
            default,
        } => {
            let expect = value_expect()?;
            let q = config::Lookup {
                path,
                format: *format,
                key,
                section: section.as_deref(),
                dropins: dropins.as_deref(),
            };
            let found = config::lookup(host, &q).map_err(|e| e.to_string())?;
            let observation = match (found, default) {
                (Some(f), _) => (f.file, Some(f.value)),
                (None, Some(d)) => ("default".to_string(), Some(d.clone())),
                (None, None) => (format!("{key} not set"), None),
            };
            Ok(judge_values(expect, vec![observation]))
        }
        Probe::Pam {
            service,
            pam_type,
            module,
            arg,
        } => {
            let expect = value_expect()?;
            let line = pam::find(host, service, pam_type, module).map_err(|e| e.to_string())?;
            let (label, value) = match (&line, arg) {
                (None, _) => (
                    format!("no {pam_type} line for {module} in /etc/pam.d/{service}"),
                    None,
                ),
                (Some(l), Some(a)) => match pam::arg_value(l, a) {
                    Some(v) => (format!("/etc/pam.d/{service}"), Some(v)),
                    None => (
                        format!("{module} line in /etc/pam.d/{service} has no {a}"),
                        None,
                    ),
                },
                (Some(l), None) => (format!("/etc/pam.d/{service}"), Some(l.control.clone())),
            };
            let mut outcome = judge_values(expect, vec![(label, value)]);
            if let Some(l) = line {
                outcome.reason = Some(format!("line: {}", l.line));
            }
            Ok(outcome)
        }
        Probe::Sysctl { key } => {
            let expect = value_expect()?;
            let persisted = facts.sysctl()?;
            // Every file that sets the parameter must set it right, not only the one that
            // wins: a conflicting file is a finding, named by its file and line.
            let mut observations: Vec<(String, Option<String>)> = persisted
                .all(key)
                .iter()
                .map(|s| (format!("persisted in {}", s.place()), Some(s.value.clone())))
                .collect();
            if observations.is_empty() {
                observations.push(("not persisted".to_string(), None));
            }
            if host.is_live() {
                observations.push(("running".to_string(), sysctl::live(host, key)?));
            }
            Ok(judge_values(expect, observations))
        }
        Probe::KernelModule { module } => Ok(modules::judge(host, facts.modprobe()?, module)),
        Probe::Mount {
            path,
            options,
            require_separate,
        } => Ok(mounts::judge(
            facts.mounts()?,
            path,
            options,
            *require_separate,
        )),
        Probe::PackageInstalled { name } | Probe::PackageAbsent { name } => {
            let packages = facts.packages()?;
            let names = name.to_vec();
            let versions: Vec<(&String, &str)> = names
                .iter()
                .filter_map(|n| packages.version(n).map(|v| (n, v)))
                .collect();
            let installed: Vec<String> = versions.iter().map(|(n, v)| format!("{n} {v}")).collect();
            let want_installed = matches!(probe, Probe::PackageInstalled { .. });
            // package_installed with an expect: the version of every installed name must meet it.
            let version_expect = expect.filter(|_| want_installed);
            let mut expected = if want_installed {
                format!("{} installed", names.join(" or "))
            } else {
                format!("{} not installed", names.join(", "))
            };
            if let Some(e) = version_expect {
                expected = format!("{expected}, version {e}");
            }
            let actual = if installed.is_empty() {
                "not installed".to_string()
            } else {
                installed.join(", ")
            };
            let passed = if want_installed {
                !versions.is_empty()
                    && version_expect
                        .is_none_or(|e| versions.iter().all(|(_, v)| e.matches(Some(*v))))
            } else {
                versions.is_empty()
            };
            Ok(CheckOutcome::judged(passed, Some(actual), expected))
        }
        Probe::ServiceState { name } if facts.os.kind == OsKind::Windows => {
            let expect = value_expect()?;
            let services = facts.windows_services()?;
            let names = name.to_vec();
            let chosen = names
                .iter()
                .find(|n| services.state(n) != "absent")
                .unwrap_or(&names[0]);
            Ok(judge_values(
                expect,
                vec![(chosen.clone(), Some(services.state(chosen).to_string()))],
            ))
        }
        Probe::ServiceState { name } => {
            let expect = value_expect()?;
            let units = facts.units();
            let names: Vec<String> = name
                .to_vec()
                .iter()
                .map(|n| services::unit_name(n))
                .collect();
            let chosen = names
                .iter()
                .find(|n| units.state(host, n) != "absent")
                .unwrap_or(&names[0]);
            Ok(judge_values(
                expect,
                vec![(chosen.clone(), Some(units.state(host, chosen).to_string()))],
            ))
        }
        Probe::LoginBanner { require_text, .. } if facts.os.kind == OsKind::Windows => {
            Ok(banner::judge_windows(facts.registry()?, *require_text))
        }
        Probe::LoginBanner { path, require_text } => match path {
            Some(path) => Ok(banner::judge(host, &facts.os, path, *require_text)),
            None => Err("login_banner needs a path on Linux".to_string()),
        },
        Probe::RegistryValue { key, name } => {
            let expect = value_expect()?;
            let registry = facts.registry()?;
            let observation = match registry.value(key, name) {
                Some(v) => (format!("{key}\\{name}"), Some(v.text())),
                None if registry.has_key(key) => (format!("no value {name} in {key}"), None),
                None => (format!("no key {key}"), None),
            };
            Ok(judge_values(expect, vec![observation]))
        }
        Probe::SecurityPolicy { section, key } => {
            let expect = value_expect()?;
            let value = facts.security_policy()?.value(section, key);
            let label = match value {
                Some(_) => format!("[{section}] {key}"),
                None => format!("[{section}] {key} not set"),
            };
            Ok(judge_values(expect, vec![(label, value)]))
        }
        Probe::AuditPolicy { subcategory } => {
            let expect = value_expect()?;
            let value = facts
                .audit_policy()?
                .setting(subcategory)
                .map(str::to_string);
            let label = match value {
                Some(_) => subcategory.clone(),
                None => format!("{subcategory} not listed by auditpol"),
            };
            Ok(judge_values(expect, vec![(label, value)]))
        }
        Probe::Accounts { rule, max, min } => {
            Ok(accounts::judge(facts.accounts(), *rule, *max, *min))
        }
        Probe::AuditRule { rule } => Ok(audit::judge(facts.audit_rules()?, rule)),
        Probe::SoftwareInstalled { .. } | Probe::ServiceRunning { .. } => Ok(CheckOutcome::skip(
            Check::describe_expectation(probe, expect),
            "evaluated by the server from the host inventory",
        )),
        Probe::XccdfRule { rule } => Ok(CheckOutcome::error(
            format!("{rule} decided by OpenSCAP"),
            "an XCCDF rule is evaluated by oscap running the template's data stream, not by Bulwark's collectors",
        )),
        Probe::FsWalk { find, allow } => Ok(walk::judge(facts.walk(), *find, allow)),
        Probe::ListeningPorts { family, rules } => {
            Ok(listening::judge(host, *family, &rules.to_vec()))
        }
        Probe::Command {
            argv,
            shell,
            timeout_secs,
            output,
        } => {
            let expect = value_expect()?;
            if !host.is_live() || host.root() != std::path::Path::new("/") {
                return Ok(CheckOutcome::skip(
                    expect.to_string(),
                    "command checks run only on the live host, not on an offline root",
                ));
            }
            let out = command::run(
                argv.as_deref(),
                shell.as_deref(),
                Duration::from_secs(*timeout_secs),
                *output,
            )?;
            Ok(judge_values(expect, vec![(String::new(), Some(out))]))
        }
    })();
    result.unwrap_or_else(|reason| {
        CheckOutcome::error(Check::describe_expectation(probe, expect), reason)
    })
}
