//! `bulwark bench`: ingest throughput and latency (scans of 160 results each), then
//! dashboard, trends and export latency over a database filled with many completed scans,
//! with the memory an export takes. Prints figures; asserts nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::body::Body;
use axum::http::Request;
use bulwark_core::{CheckOutcome, Role};
use bulwark_server::ingest::{self, AgentResult};
use bulwark_server::{AppState, ServerConfig, auth};
use bulwark_store::db::Db;
use bulwark_store::{CredentialKind, NewHost, NewScan, Policy, Scope, Store};
use clap::Args;
use futures::StreamExt;
use http_body_util::BodyExt;
use tower::ServiceExt;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    /// Another benchmark than ingest and reads.
    #[command(subcommand)]
    what: Option<BenchWhat>,
    /// sqlite://PATH (default: a temporary file) or postgres://... (a new schema is made).
    #[arg(long)]
    database_url: Option<String>,
    /// Scans to submit in the ingest phase.
    #[arg(long, default_value_t = 2_000)]
    ingest: usize,
    /// Concurrent submissions.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Completed scans stored for the read phase.
    #[arg(long, default_value_t = 1_000_000)]
    scans: usize,
    /// Scans exported in the export measurement.
    #[arg(long, default_value_t = 100_000)]
    export: usize,
    /// Repetitions of each read measurement.
    #[arg(long, default_value_t = 20)]
    repeat: usize,
}

#[derive(clap::Subcommand, Debug)]
enum BenchWhat {
    /// Agentless scans of this machine over SSH, beside a local scan.
    Ssh(crate::bench_ssh::SshBenchArgs),
}

const CHECKS: usize = 160;

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn open(url: Option<&str>, dir: &std::path::Path) -> Result<Db> {
    Ok(match url {
        Some(u) if u.starts_with("postgres") => bulwark_store::testing::postgres_db_at(u).await?,
        Some(u) => Db::connect(u).await?,
        None => Db::connect(&format!("sqlite://{}", dir.join("bench.db").display())).await?,
    })
}

pub async fn run(args: BenchArgs) -> Result<()> {
    if let Some(BenchWhat::Ssh(ssh)) = args.what {
        return crate::bench_ssh::run(ssh).await;
    }
    let dir = tempfile::tempdir()?;
    let db = open(args.database_url.as_deref(), dir.path())
        .await
        .context("opening the benchmark database")?;
    let backend = format!("{:?}", db.backend());
    let store = bulwark_store::from_db(db.clone());
    bulwark_server::seed::system_templates(store.as_ref()).await?;
    let state = AppState::new(store.clone(), ServerConfig::default());
    println!("backend: {backend}");

    // Ingest: an organization, 200 hosts, a 160-check template, and `ingest` pending scans.
    let org = store.create_org("bench-ingest", "x").await?;
    let scope = Scope::All;
    let copy = store
        .copy_template(&scope, "cis-linux-l1", "Bench 160", &org.id)
        .await?;
    let checks = store.template_checks(&scope, &copy.id).await?;
    let ids: Vec<String> = checks.iter().map(|c| c.check.id.clone()).collect();
    store
        .set_checks_enabled(&scope, &copy.id, &ids, false)
        .await?;
    store
        .set_checks_enabled(&scope, &copy.id, &ids[..CHECKS.min(ids.len())], true)
        .await?;
    let enabled: Vec<String> = store
        .template_checks(&scope, &copy.id)
        .await?
        .into_iter()
        .filter(|c| c.enabled)
        .map(|c| c.check.id)
        .collect();
    let policy = store
        .create_policy(&scope, &bench_policy(&org.id, &copy.id))
        .await?;
    let mut hosts = Vec::new();
    for i in 0..200 {
        hosts.push(
            store
                .create_host(&NewHost {
                    org_id: org.id.clone(),
                    hostname: format!("ingest-{i}"),
                    os_kind: bulwark_core::OsKind::Linux,
                    os_id: "debian".into(),
                    os_version: "12".into(),
                })
                .await?,
        );
    }
    let mut scans = Vec::with_capacity(args.ingest);
    for i in 0..args.ingest {
        let scan = store
            .create_scan(
                &scope,
                &NewScan {
                    org_id: org.id.clone(),
                    host_id: hosts[i % hosts.len()].id.clone(),
                    policy_id: Some(policy.id.clone()),
                    template_id: copy.id.clone(),
                    trigger_kind: bulwark_store::TriggerKind::Scheduled,
                    passing_threshold: 80.0,
                    created_at: None,
                },
            )
            .await?;
        scans.push(scan.id);
    }
    let results: Vec<AgentResult> = enabled
        .iter()
        .enumerate()
        .map(|(i, id)| AgentResult {
            check_id: id.clone(),
            outcome: CheckOutcome::judged(
                i % 4 != 0,
                Some(format!("observed value {i}")),
                "expected value",
            ),
        })
        .collect();
    println!(
        "ingest: {} scans of {} results, {} at a time",
        scans.len(),
        results.len(),
        args.concurrency
    );
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(scans.iter().cloned())
        .map(|id| {
            let state = state.clone();
            let results = results.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                ingest::submit(&state, &id, results)
                    .await
                    .map(|_| t.elapsed())
            })
        })
        .buffer_unordered(args.concurrency)
        .map(|r| {
            r.map_err(anyhow::Error::from)
                .and_then(|r| r.map_err(|e| anyhow::anyhow!("{e}")))
        })
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "  {:.0} scans/s ({} results/s); latency p50 {} p99 {}",
        scans.len() as f64 / elapsed.as_secs_f64(),
        (scans.len() * results.len()) as f64 as u64 / elapsed.as_secs().max(1),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
    );

    // Reads at scale, in an organization of their own.
    let big = store.create_org("bench-read", "y").await?;
    let big_policy = store
        .create_policy(&scope, &bench_policy(&big.id, "cis-linux-l1"))
        .await?;
    let t = Instant::now();
    bulwark_store::testing::bench_fill(
        &db,
        &bulwark_store::testing::BenchFill {
            org_id: &big.id,
            policy_id: &big_policy.id,
            template_id: "cis-linux-l1",
            hosts: 10_000,
            scans: args.scans,
            days: 365,
            with_results: 1_000,
        },
    )
    .await?;
    println!(
        "read: filled {} completed scans of 10000 hosts over 365 days in {:.1} s",
        args.scans,
        t.elapsed().as_secs_f64()
    );
    let token = token(&store, &big.id).await?;
    let router = bulwark_server::app(state.clone());
    for (name, path) in [
        ("dashboard", "/api/v1/compliance/dashboard".to_string()),
        (
            "trends 30 days",
            "/api/v1/compliance/trends?days=30".to_string(),
        ),
        (
            "trends 365 days",
            "/api/v1/compliance/trends?days=365".to_string(),
        ),
        (
            "scan list",
            "/api/v1/compliance/scans?status=completed&limit=100".to_string(),
        ),
    ] {
        let mut times = Vec::new();
        for _ in 0..args.repeat {
            let t = Instant::now();
            let bytes = get(&router, &path, &token).await?;
            times.push(t.elapsed());
            anyhow::ensure!(!bytes.is_empty(), "{name} answered nothing");
        }
        times.sort();
        println!(
            "  {name:<16} p50 {} p99 {} (n={})",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            times.len()
        );
    }
    for format in ["csv", "ndjson"] {
        let baseline = rss_kib();
        let peak = Arc::new(AtomicU64::new(baseline));
        let done = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, done) = (peak.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let t = Instant::now();
        let (rows, bytes) = stream_export(
            &router,
            &format!(
                "/api/v1/compliance/export?format={format}&limit={}",
                args.export
            ),
            &token,
        )
        .await?;
        let took = t.elapsed();
        done.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        println!(
            "  export {format:<6} {rows} rows, {:.1} MB in {:.2} s; RSS {} MiB before, peak +{:.1} MiB",
            bytes as f64 / 1e6,
            took.as_secs_f64(),
            baseline / 1024,
            (peak.load(Ordering::Relaxed).saturating_sub(baseline)) as f64 / 1024.0
        );
    }
    Ok(())
}

fn bench_policy(org: &str, template: &str) -> Policy {
    Policy::draft(org, "bench", bulwark_core::OsKind::Linux, template)
}

async fn token(store: &Arc<dyn Store>, org: &str) -> Result<String> {
    token_with_role(store, org, Role::Viewer).await
}

/// An API token of a new user of `org` with `role`.
pub(crate) async fn token_with_role(
    store: &Arc<dyn Store>,
    org: &str,
    role: Role,
) -> Result<String> {
    let user = store
        .create_user(
            &format!("bench-{}-{org}", role.as_str()),
            "unused",
            role,
            Some(&[org.to_owned()]),
        )
        .await?;
    let token = auth::new_secret("bwt_");
    store
        .add_credential(
            &user.id,
            &auth::hash_secret(&token),
            CredentialKind::ApiToken,
            "bench",
            None,
        )
        .await?;
    Ok(token)
}

async fn get(router: &axum::Router, path: &str, token: &str) -> Result<axum::body::Bytes> {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())?;
    let res = router.clone().oneshot(req).await?;
    anyhow::ensure!(res.status().is_success(), "{path}: {}", res.status());
    Ok(res.into_body().collect().await?.to_bytes())
}

/// Reads an export as a client would, chunk by chunk, without keeping it.
async fn stream_export(router: &axum::Router, path: &str, token: &str) -> Result<(usize, usize)> {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())?;
    let res = router.clone().oneshot(req).await?;
    anyhow::ensure!(res.status().is_success(), "{path}: {}", res.status());
    let mut body = res.into_body().into_data_stream();
    let (mut lines, mut bytes) = (0, 0);
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    Ok((lines, bytes))
}
