//! `bulwark demo`: the product on one machine in one command. The server on SQLite in a
//! local data directory, an administrator, a demo organization and policy, a small simulated
//! fleet with three weeks of scan history (so that the charts have something to say) that
//! stays online and answers scans while the demo runs, and a real agent scanning this
//! machine. Running it again reuses the data directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use bulwark_core::{CheckOutcome, Role};
use bulwark_server::{auth, ingest};
use bulwark_store::{NewHost, NewScan, Policy, Scope, Store, TemplateCheck};
use clap::Args;

use crate::config::Config;

#[derive(Args)]
pub struct DemoArgs {
    /// Where the demo keeps its database, the agent's state and the admin's password.
    #[arg(long, default_value = "bulwark-demo")]
    data_dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Do not start an agent on this machine.
    #[arg(long)]
    no_agent: bool,
}

const ORG: &str = "Demo";
/// The host group that marks the simulated hosts.
const FLEET_GROUP: &str = "Demo fleet (simulated)";
/// How often the simulated fleet heartbeats and answers pending scans.
const FLEET_TICK: std::time::Duration = std::time::Duration::from_secs(10);
const ADMIN: &str = "admin";
const TEMPLATE: &str = "cis-linux-l1";
const HISTORY_DAYS: i64 = 21;
/// The demo fleet besides this machine: name, distribution, version, and its score three
/// weeks ago (each improves as its team fixes findings).
const FLEET: &[(&str, &str, &str, f64)] = &[
    ("demo-web-01", "debian", "12", 58.0),
    ("demo-web-02", "debian", "12", 64.0),
    ("demo-db-01", "ubuntu", "22.04", 71.0),
    ("demo-build-01", "ubuntu", "22.04", 49.0),
    ("demo-bastion-01", "debian", "12", 83.0),
];

pub async fn run(args: DemoArgs) -> Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let dir = args.data_dir.canonicalize()?;
    let defaults = bulwark_server::ServerConfig::default();
    let config = Config {
        database_url: format!("sqlite://{}", dir.join("bulwark.db").display()),
        listen: args.listen.clone(),
        // Short, so that the local host is scanned soon after its agent enrolls.
        scheduler_interval_secs: 20,
        sweep_limit: defaults.sweep_limit,
        max_connections: defaults.connections.max_connections,
        outbound_private: defaults.outbound.allow_private,
        warning_below: defaults.warning_below,
        critical_below: defaults.critical_below,
        session_hours: defaults.session_hours,
        heartbeat_flush_secs: defaults.seen_flush_interval.as_secs(),
        secret_key_file: Some(dir.join("secret.key")),
        scanner: std::env::var_os("BULWARK_SCANNER")
            .map(Into::into)
            .or_else(crate::config::default_scanner),
        ssh_max_concurrent: defaults.agentless.max_concurrent,
        public_url: Some(format!("http://{}", args.listen)),
        provisioning_connect_wait_secs: defaults.provisioning.connect_wait.as_secs(),
    };
    let store = config.open_store().await?;
    bulwark_server::seed::system_templates(store.as_ref()).await?;
    let prepared = prepare(&store, &dir).await?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (use --listen)", config.listen))?;
    let url = format!("http://{}", listener.local_addr()?);
    let mut agent = if args.no_agent {
        None
    } else {
        start_agent(&dir, &url, &prepared.enrollment_secret)?
    };
    println!("\nBulwark demo is running: open {url}");
    println!("  user:     {ADMIN}");
    println!("  password: {}", prepared.password);
    println!("  data:     {} (run again to reuse it)", dir.display());
    match &agent {
        Some(_) => println!(
            "  agent:    scanning this machine; its host appears under Hosts within a minute"
        ),
        None => println!("  agent:    not started"),
    }
    println!(
        "  fleet:    {} simulated hosts (group \"{FLEET_GROUP}\"), online and answering scans",
        FLEET.len()
    );
    println!("  enrollment secret: {}", prepared.enrollment_secret);
    println!(
        "  enroll another machine (as root, where it reaches {url}; --listen 0.0.0.0:8080 opens the demo to others):"
    );
    println!(
        "    bulwark-agent install --server-url {url} --org-secret {} && bulwark-agent run",
        prepared.enrollment_secret
    );
    println!("Press Ctrl-C to stop.\n");
    let state = bulwark_server::AppState::new(store, config.server_config()?);
    let fleet = tokio::spawn(simulate_fleet(state.clone(), prepared.org_id.clone()));
    let served = crate::serve_state(listener, state).await;
    fleet.abort();
    if let Some(child) = agent.as_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
    served
}

/// The demo fleet as if agents ran on it: a heartbeat every tick, and every scan asked of it
/// answered with results near its latest score, through the same ingest as an agent's.
async fn simulate_fleet(state: bulwark_server::AppState, org_id: String) {
    loop {
        if let Err(e) = fleet_tick(&state, &org_id).await {
            tracing::warn!(error = %format!("{e:#}"), "the simulated demo fleet stumbled");
        }
        tokio::time::sleep(FLEET_TICK).await;
    }
}

async fn fleet_tick(state: &bulwark_server::AppState, org_id: &str) -> Result<()> {
    let store = &state.store;
    let now = bulwark_store::now();
    let hosts: Vec<(bulwark_store::Host, f64)> = store
        .list_hosts(&Scope::All)
        .await?
        .into_iter()
        .filter(|h| h.org_id == org_id)
        .filter_map(|h| {
            let start = FLEET.iter().find(|f| f.0 == h.hostname)?.3;
            Some((h, start))
        })
        .collect();
    let seen: Vec<(String, i64)> = hosts.iter().map(|(h, _)| (h.id.clone(), now)).collect();
    store.record_seen(&seen).await?;
    for (host, start) in &hosts {
        let filter = bulwark_store::ScanFilter {
            status: Some(bulwark_store::ScanStatus::Pending),
            host_id: Some(host.id.clone()),
            ..Default::default()
        };
        for scan in store.list_scans(&Scope::All, &filter).await? {
            let checks: Vec<TemplateCheck> = store
                .template_checks(&Scope::All, &scan.template_id)
                .await?
                .into_iter()
                .filter(|c| c.enabled && !c.check.probe.server_evaluated())
                .collect();
            let target = (start + HISTORY_DAYS as f64 * 1.1).clamp(20.0, 97.0);
            let results = history_results(&checks, &host.hostname, target)
                .into_iter()
                .map(|r| bulwark_protocol::wire::AgentResult {
                    check_id: r.check_id,
                    outcome: r.outcome,
                })
                .collect();
            store.mark_scan_running(&scan.id, now).await?;
            ingest::submit(state, &scan.id, results)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    Ok(())
}

struct Prepared {
    org_id: String,
    password: String,
    enrollment_secret: String,
}

/// The organization's enrollment secret, kept in the data directory (the store keeps only its
/// hash); made anew when the file is missing.
async fn enrollment_secret(store: &Arc<dyn Store>, org_id: &str, dir: &Path) -> Result<String> {
    let file = dir.join("enrollment-secret");
    if let Ok(secret) = std::fs::read_to_string(&file) {
        return Ok(secret.trim().to_owned());
    }
    let secret = auth::new_secret("bwe_");
    store
        .set_org_secret(&Scope::All, org_id, &auth::hash_secret(&secret))
        .await?;
    write_private(&file, &secret)?;
    Ok(secret)
}

/// The organization, administrator, policy and history, made on the first run only.
async fn prepare(store: &Arc<dyn Store>, dir: &Path) -> Result<Prepared> {
    let password_file = dir.join("admin-password");
    if let Some(org) = store
        .list_orgs(&Scope::All)
        .await?
        .into_iter()
        .find(|o| o.name == ORG)
    {
        let password = std::fs::read_to_string(&password_file)
            .map(|p| p.trim().to_owned())
            .unwrap_or_else(|_| format!("(see {})", password_file.display()));
        return Ok(Prepared {
            enrollment_secret: enrollment_secret(store, &org.id, dir).await?,
            org_id: org.id,
            password,
        });
    }
    if store.user_by_name(ADMIN).await?.is_some() {
        bail!(
            "{} holds a database without the demo organization; use another --data-dir",
            dir.display()
        );
    }
    let org = store
        .create_org(ORG, &auth::hash_secret(&auth::new_secret("bwe_")))
        .await?;
    let password = auth::new_secret("").chars().take(20).collect::<String>();
    let hash = auth::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    store.create_user(ADMIN, &hash, Role::Admin, None).await?;
    write_private(&password_file, &password)?;
    let scope = Scope::All;
    let mut policy = Policy::draft(
        &org.id,
        "Linux servers (CIS Level 1)",
        bulwark_core::OsKind::Linux,
        TEMPLATE,
    );
    policy.interval_hours = 24;
    let policy = store.create_policy(&scope, &policy).await?;
    let checks: Vec<TemplateCheck> = store
        .template_checks(&scope, TEMPLATE)
        .await?
        .into_iter()
        .filter(|c| c.enabled && !c.check.probe.server_evaluated())
        .collect();
    let now = bulwark_store::now();
    let group = store
        .create_group(&scope, &org.id, FLEET_GROUP, None)
        .await?;
    for (i, (name, os, version, start)) in FLEET.iter().enumerate() {
        let host = store
            .create_host(&NewHost {
                org_id: org.id.clone(),
                hostname: (*name).into(),
                os_kind: bulwark_core::OsKind::Linux,
                os_id: (*os).into(),
                os_version: (*version).into(),
            })
            .await?;
        store.add_group_member(&scope, &group.id, &host.id).await?;
        // The latest scans are hours old, so the scheduler does not ask these hosts (which
        // have no agent) for a scan before tomorrow.
        for day in (0..HISTORY_DAYS).rev() {
            let at = now - day * 86_400 - (i as i64 + 1) * 3_600;
            let improved = (HISTORY_DAYS - day) as f64 * 1.1;
            // A small wobble, the same on every run: real fleets do not improve in a line.
            let wobble = ((day * 7 + i as i64 * 3) % 5) as f64 - 2.0;
            let target = (start + improved + wobble).clamp(20.0, 97.0);
            let scan = store
                .create_scan(
                    &scope,
                    &NewScan {
                        org_id: org.id.clone(),
                        host_id: host.id.clone(),
                        policy_id: Some(policy.id.clone()),
                        template_id: TEMPLATE.into(),
                        trigger_kind: bulwark_store::TriggerKind::Scheduled,
                        passing_threshold: policy.passing_threshold,
                        created_at: Some(at - 60),
                    },
                )
                .await?;
            let results = history_results(&checks, name, target);
            let summary = ingest::summarize(&results);
            store.mark_scan_running(&scan.id, at - 45).await?;
            store
                .complete_scan(&scan.id, &results, &summary, at)
                .await?;
        }
    }
    Ok(Prepared {
        enrollment_secret: enrollment_secret(store, &org.id, dir).await?,
        org_id: org.id,
        password,
    })
}

/// Results that score about `target`: the same checks keep failing from day to day (the
/// ones a host's name and the check's id order first), fewer as the score climbs.
fn history_results(
    checks: &[TemplateCheck],
    host: &str,
    target: f64,
) -> Vec<bulwark_store::ScanResult> {
    let failing = ((1.0 - target / 100.0) * checks.len() as f64).round() as usize;
    let mut order: Vec<(u64, usize)> = checks
        .iter()
        .enumerate()
        .map(|(i, c)| (stable_hash(host, &c.check.id), i))
        .collect();
    order.sort();
    let fails: std::collections::HashSet<usize> =
        order.iter().take(failing).map(|(_, i)| *i).collect();
    checks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let passed = !fails.contains(&i);
            let actual = if passed {
                "as required"
            } else {
                "not configured"
            };
            bulwark_store::ScanResult {
                check_id: c.check.id.clone(),
                title: c.check.title.clone(),
                category: c.check.category.clone(),
                severity: c.check.severity,
                outcome: CheckOutcome::judged(
                    passed,
                    Some(actual.into()),
                    "the benchmark's setting",
                ),
            }
        })
        .collect()
}

/// FNV-1a: a hash that is the same in every run and on every machine.
fn stable_hash(a: &str, b: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in a.bytes().chain([0]).chain(b.bytes()) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "{text}")?;
    Ok(())
}

/// The `bulwark-agent` beside this binary, installed into the data directory on the first
/// run and started; `None` when it is not built.
fn start_agent(dir: &Path, url: &str, secret: &str) -> Result<Option<std::process::Child>> {
    let exe = std::env::current_exe()?.with_file_name("bulwark-agent");
    if !exe.exists() {
        println!(
            "note: {} is not built, so this machine is not scanned; build it with `cargo build --release -p bulwark-agent`",
            exe.display()
        );
        return Ok(None);
    }
    let config = dir.join("agent.toml");
    if !config.exists() {
        let status = std::process::Command::new(&exe)
            .arg("install")
            .arg("--server-url")
            .arg(url)
            .arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.join("agent-state"))
            .arg("--unit-dir")
            .arg(dir.join("agent-units"))
            .env("BULWARK_ORG_SECRET", secret)
            .stdout(std::process::Stdio::null())
            .status()
            .with_context(|| format!("running {} install", exe.display()))?;
        if !status.success() {
            bail!("{} install failed ({status})", exe.display());
        }
    }
    let log = std::fs::File::create(dir.join("agent.log"))?;
    let child = std::process::Command::new(&exe)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    Ok(Some(child))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_hits_its_target_score_and_keeps_failing_the_same_checks() {
        let template = bulwark_content::shipped_template(TEMPLATE)
            .unwrap()
            .unwrap();
        let checks: Vec<TemplateCheck> = template
            .checks
            .into_iter()
            .enumerate()
            .map(|(i, check)| TemplateCheck {
                runs_commands: check.runs_commands(),
                position: i as i64,
                enabled: true,
                check,
            })
            .collect();
        let failed = |target| -> Vec<String> {
            history_results(&checks, "demo-web-01", target)
                .into_iter()
                .filter(|r| r.status() == bulwark_core::Status::Fail)
                .map(|r| r.check_id)
                .collect()
        };
        let worse = failed(60.0);
        let better = failed(80.0);
        let score = ingest::summarize(&history_results(&checks, "demo-web-01", 60.0)).score;
        assert!((score.unwrap() - 60.0).abs() < 1.0, "{score:?}");
        assert!(
            better.iter().all(|c| worse.contains(c)),
            "fixed checks stay fixed"
        );
        assert!(better.len() < worse.len());
    }
}
