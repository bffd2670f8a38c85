//! `bulwark bench ssh`: agentless scans of this machine through a real OpenSSH server on
//! loopback, against a local scan of the same machine. One at a time first (how long one
//! agentless scan takes beside a local one), then many with the server's default number of
//! slots (scans per minute, p50/p99, the server's CPU time and peak memory). Prints figures;
//! asserts nothing. Needs root (it makes a throwaway login with a sudoers rule), Debian's
//! openssh-server and sudo, and the static scanner (BULWARK_SCANNER).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bench::percentile;
use anyhow::{Context, Result, bail};
use axum::body::Body;
use axum::http::Request;
use bulwark_core::Role;
use bulwark_server::agentless::AgentlessConfig;
use bulwark_server::{AppState, ServerConfig};
use bulwark_ssh::testing::{Sshd, SudoRule, TempUser};
use bulwark_store::{NewScan, Policy, Scope, Store};
use clap::Args;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Args, Debug)]
pub struct SshBenchArgs {
    /// Agentless scans one after another, and local scans to compare with.
    #[arg(long, default_value_t = 5)]
    sequential: usize,
    /// Agentless scans queued at once for the concurrent phase.
    #[arg(long, default_value_t = 32)]
    scans: usize,
    /// The shipped template scanned.
    #[arg(long, default_value = "cis-linux-l1")]
    template: String,
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// This process's CPU time (user + system), from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are the 14th and 15th fields; 11 and 12 after the state.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
) -> Result<Value> {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))?;
    let res = router.clone().oneshot(req).await?;
    let status = res.status();
    let bytes = res.into_body().collect().await?.to_bytes();
    anyhow::ensure!(
        status.is_success(),
        "{method} {path}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    Ok(serde_json::from_slice(&bytes)?)
}

pub async fn run(args: SshBenchArgs) -> Result<()> {
    let scanner = std::env::var_os("BULWARK_SCANNER")
        .map(Into::into)
        .or_else(crate::config::default_scanner)
        .context("no scanner: build it with `cargo build --profile scanner --target x86_64-unknown-linux-musl -p bulwark-scanner` and set BULWARK_SCANNER")?;
    // Every scan of the concurrent phase logs into this one server at once; a real fleet
    // spreads them over as many servers, so sshd's limit on logins in progress is raised.
    let Some(sshd) = Sshd::start_with_config("MaxStartups 200:30:400\n") else {
        bail!("cannot start sshd here (run as root, not under fakeroot)");
    };
    let home = tempfile::Builder::new()
        .prefix("bulwark-bench-home")
        .tempdir_in("/tmp")?;
    let user = TempUser::with_home("b", home.path());
    let _sudo = SudoRule::install(
        &user.name,
        &format!("{} ALL=(root) NOPASSWD: ALL\n", user.name),
    );

    let dir = tempfile::tempdir()?;
    let store = bulwark_store::testing::sqlite(dir.path()).await?;
    bulwark_server::seed::system_templates(store.as_ref()).await?;
    let agentless = AgentlessConfig {
        scanner: Some(scanner),
        ..Default::default()
    };
    let slots = agentless.max_concurrent;
    let config = ServerConfig {
        secrets: Some(Arc::new(
            bulwark_server::secrets::SecretBox::load_or_create(&dir.path().join("secret.key"))?,
        )),
        agentless,
        ..Default::default()
    };
    let state = AppState::new(store.clone(), config);
    let router = bulwark_server::app(state.clone());
    let org = store.create_org("bench-ssh", "x").await?;
    let token = crate::bench::token_with_role(&store, &org.id, Role::Admin).await?;
    let credential = call(
        &router,
        "POST",
        "/api/v1/ssh-credentials",
        &token,
        json!({"name": "bench", "kind": "private_key", "private_key": sshd.client_key}),
    )
    .await?;
    let credential_id = credential["credential"]["id"].clone();
    let policy = store
        .create_policy(
            &Scope::All,
            &Policy::draft(
                &org.id,
                "bench",
                bulwark_core::OsKind::Linux,
                &args.template,
            ),
        )
        .await?;
    let hosts = args.sequential.max(args.scans);
    let mut host_ids = Vec::with_capacity(hosts);
    for i in 0..hosts {
        let host = call(
            &router,
            "POST",
            "/api/v1/hosts",
            &token,
            json!({"hostname": format!("loopback-{i}"), "connection": {
                "address": "127.0.0.1", "port": sshd.port, "username": user.name,
                "credential_id": credential_id, "host_key": sshd.host_fingerprint}}),
        )
        .await?;
        host_ids.push(host["id"].as_str().unwrap_or_default().to_owned());
    }
    let report = bulwark_server::agentless::check_host(&state, &host_ids[0])
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    anyhow::ensure!(
        report.ok,
        "the loopback host does not pass its check: {:?}",
        report.problems
    );
    println!(
        "host: {} {} {}, sshd on 127.0.0.1:{}, template {}",
        report.os_name.unwrap_or_default(),
        report.kernel.unwrap_or_default(),
        report.architecture.unwrap_or_default(),
        sshd.port,
        args.template
    );

    // A local scan of the same machine with the same checks, for comparison.
    let template = store.get_template(&Scope::All, &args.template).await?;
    let checks = state
        .checks
        .checks(store.as_ref(), &template)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut local = Vec::new();
    for _ in 0..args.sequential.max(1) {
        let request = bulwark_scanner::ScanRequest {
            template_id: template.id.clone(),
            template_name: template.name.clone(),
            checks: checks
                .iter()
                .filter(|c| c.enabled)
                .map(|c| c.check.for_evaluation())
                .collect(),
            commands: bulwark_scanner::CommandPolicy::Refused {
                reason: "bench".into(),
            },
        };
        let started = Instant::now();
        tokio::task::spawn_blocking(move || {
            bulwark_scanner::run(std::path::Path::new("/"), request)
        })
        .await?
        .map_err(|e| anyhow::anyhow!(e))?;
        local.push(started.elapsed());
    }
    local.sort();
    let local_p50 = percentile(&local, 0.5);

    // One at a time.
    let mut one = Vec::new();
    for host in host_ids.iter().take(args.sequential) {
        let scan = queue(&store, &org.id, host, &policy.id, &args.template).await?;
        let started = Instant::now();
        run_claimed(&state, 1).await?;
        one.push(started.elapsed());
        finished(&store, &scan).await?;
    }
    one.sort();
    let one_p50 = percentile(&one, 0.5);
    println!(
        "local scan:        p50 {} (of {})",
        secs(local_p50),
        local.len()
    );
    println!(
        "agentless, alone:  p50 {}  p99 {} (of {}); target <= 2 x local + 1 s = {} -> {}",
        secs(one_p50),
        secs(percentile(&one, 0.99)),
        one.len(),
        secs(local_p50 * 2 + Duration::from_secs(1)),
        if one_p50 <= local_p50 * 2 + Duration::from_secs(1) {
            "met"
        } else {
            "MISSED"
        }
    );

    // Many at once, through the server's slots.
    let mut scans = Vec::new();
    for host in host_ids.iter().take(args.scans) {
        scans.push(queue(&store, &org.id, host, &policy.id, &args.template).await?);
    }
    let cpu_before = cpu_time();
    let started = Instant::now();
    let durations = run_claimed(&state, args.scans).await?;
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    for scan in &scans {
        finished(&store, scan).await?;
    }
    let mut durations = durations;
    durations.sort();
    let per_minute = args.scans as f64 / wall.as_secs_f64() * 60.0;
    println!(
        "agentless, {} at once ({} slots, {} cores): {} in {} = {:.1} scans/min (target >= 30 -> {}); per scan p50 {}  p99 {}",
        args.scans,
        slots,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        args.scans,
        secs(wall),
        per_minute,
        if per_minute >= 30.0 { "met" } else { "MISSED" },
        secs(percentile(&durations, 0.5)),
        secs(percentile(&durations, 0.99)),
    );
    println!(
        "server process: {} CPU over {} ({:.0}% of one core), peak RSS {:.0} MiB",
        secs(cpu),
        secs(wall),
        cpu.as_secs_f64() / wall.as_secs_f64() * 100.0,
        peak_rss_mib()
    );
    Ok(())
}

async fn queue(
    store: &Arc<dyn Store>,
    org: &str,
    host: &str,
    policy: &str,
    template: &str,
) -> Result<String> {
    Ok(store
        .create_scan(
            &Scope::All,
            &NewScan {
                org_id: org.into(),
                host_id: host.into(),
                policy_id: Some(policy.into()),
                template_id: template.into(),
                trigger_kind: bulwark_store::TriggerKind::OnDemand,
                passing_threshold: 80.0,
                created_at: None,
            },
        )
        .await?
        .id)
}

/// Claims `count` queued jobs and runs them as the SSH workers do, through the server's
/// slots; answers each scan's time from claim to ingest.
async fn run_claimed(state: &AppState, count: usize) -> Result<Vec<Duration>> {
    let mut jobs = Vec::new();
    while jobs.len() < count {
        let claimed = state
            .store
            .claim_ssh_jobs(bulwark_store::now(), 3600, (count - jobs.len()) as i64)
            .await?;
        anyhow::ensure!(
            !claimed.is_empty(),
            "fewer queued agentless jobs than scans"
        );
        jobs.extend(claimed);
    }
    let mut tasks = Vec::new();
    for job in jobs {
        let permit = state.agentless.slots.clone().acquire_owned().await?;
        let state = state.clone();
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            bulwark_server::agentless::run_job(&state, job).await;
            drop(permit);
            started.elapsed()
        }));
    }
    let mut durations = Vec::new();
    for task in tasks {
        durations.push(task.await?);
    }
    Ok(durations)
}

async fn finished(store: &Arc<dyn Store>, scan: &str) -> Result<()> {
    let scan = store.get_scan(&Scope::All, scan).await?;
    anyhow::ensure!(
        scan.status == bulwark_store::ScanStatus::Completed,
        "scan {} ended {}: {}",
        scan.id,
        scan.status,
        scan.message.unwrap_or_default()
    );
    Ok(())
}
