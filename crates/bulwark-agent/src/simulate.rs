//! `bulwark-agent simulate`: thousands of agents in one process against a real server, like
//! Fleet's osquery-perf. Each simulated host has its own key pair and goes through the real
//! protocol: enrollment, jittered heartbeats, differential inventory, and scans — triggered
//! through the API every `--scan-every` for each host, picked up as signed jobs, verified,
//! acknowledged and answered with results. The simulator remembers every scan it answered,
//! so at the end it can tell, from the server's own export, which results were lost or
//! counted twice.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bulwark_core::inventory::{Service, Software, SystemInfo};
use bulwark_core::{CheckOutcome, HostInventory};
use bulwark_protocol::jobs::Opened;
use bulwark_protocol::wire::{
    self, AgentResult, EnrollRequest, EnrollResponse, HeartbeatResponse, InventoryRequest,
    JobsResponse, ResultsRequest, ResultsResponse,
};
use bulwark_protocol::{AgentKey, JobKind};
use clap::Args;
use rand::Rng;
use serde_json::{Value, json};

use crate::daemon::client::{CallError, Client, http_client, now};

#[derive(Args)]
pub struct SimulateArgs {
    /// Simulated agents.
    #[arg(long, default_value_t = 100)]
    agents: usize,
    /// How long to run, e.g. 90s, 10m, 1h.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    duration: Duration,
    /// The server's base URL.
    #[arg(long)]
    server: String,
    /// The organization secret the agents enroll with.
    #[arg(long, env = "BULWARK_ORG_SECRET", hide_env_values = true)]
    org_secret: String,
    /// An API token with compliance.manage and hosts.view: creates the policy and triggers
    /// the scans.
    #[arg(long, env = "BULWARK_TOKEN", hide_env_values = true)]
    token: String,
    /// The organization the secret belongs to (needed when the token sees several).
    #[arg(long)]
    org_id: Option<String>,
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    heartbeat_every: Duration,
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    inventory_every: Duration,
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    scan_every: Duration,
    /// Enrollments started per second at the beginning.
    #[arg(long, default_value_t = 200)]
    enroll_rate: u32,
    /// The server's process id, to report its memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// At the end, write every scan the server acknowledged as completed to this file, one
    /// `SCAN_ID CHECKS` line each: what a crash test compares with the database itself.
    #[arg(long)]
    acknowledged_out: Option<std::path::PathBuf>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 90s, 10m or 1h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("{s:?}: the unit must be s, m or h")),
    };
    Ok(Duration::from_secs(secs))
}

/// Latencies and failures per endpoint.
#[derive(Default)]
struct Stats {
    endpoints: Mutex<BTreeMap<&'static str, Endpoint>>,
    requests: AtomicU64,
    /// Heartbeat latencies since the last progress line.
    recent_beats: Mutex<Vec<u32>>,
    /// The heartbeat p99 of each progress line's window, in ms.
    window_p99s: Mutex<Vec<f64>>,
}

#[derive(Default)]
struct Endpoint {
    micros: Vec<u32>,
    errors: BTreeMap<String, u64>,
}

impl Stats {
    fn record<T>(&self, endpoint: &'static str, started: Instant, result: &Result<T, CallError>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        if endpoint == "heartbeat" {
            self.recent_beats.lock().expect("stats lock").push(micros);
        }
        let mut all = self.endpoints.lock().expect("stats lock");
        let e = all.entry(endpoint).or_default();
        e.micros.push(micros);
        if let Err(err) = result {
            let kind = match err {
                CallError::Unreachable(m) => {
                    format!("unreachable: {}", m.chars().take(80).collect::<String>())
                }
                CallError::Refused { status, message } => {
                    format!("{status}: {}", message.chars().take(80).collect::<String>())
                }
                CallError::NotEnrolled(_) => "401: not enrolled".into(),
            };
            *e.errors.entry(kind).or_default() += 1;
        }
    }

    fn errors(&self) -> u64 {
        self.endpoints
            .lock()
            .expect("stats lock")
            .values()
            .flat_map(|e| e.errors.values())
            .sum()
    }
}

/// What the simulator sent, to be compared with what the server kept.
#[derive(Default)]
struct Ledger {
    /// scan id → results sent, for scans the server acknowledged as completed.
    completed: Mutex<HashMap<String, usize>>,
    /// Acknowledgements of `completed` for a scan already acknowledged: a double count.
    double_completions: AtomicU64,
    triggered: AtomicU64,
    enrolled: AtomicU64,
}

struct Sim {
    args: SimulateArgs,
    http: reqwest::Client,
    stats: Stats,
    ledger: Ledger,
    policy_id: String,
    deadline: Instant,
}

fn inventory_of(n: usize) -> HostInventory {
    let mut inv = HostInventory {
        system: SystemInfo {
            hostname: format!("sim-{n:05}"),
            os_kind: "linux".into(),
            os_id: "debian".into(),
            os_version: "12".into(),
            os_name: "Debian GNU/Linux 12 (bookworm)".into(),
            kernel: "6.1.0-18-amd64".into(),
            architecture: "x86_64".into(),
            uptime_secs: Some(86_400),
        },
        ..Default::default()
    };
    inv.software = (0..150)
        .map(|i| Software {
            name: format!("package-{i:03}"),
            version: format!("1.{}.{}", i % 7, n % 5),
        })
        .collect();
    inv.services = ["ssh", "cron", "rsyslog", "auditd", "systemd-journald"]
        .iter()
        .map(|s| Service {
            name: (*s).into(),
            state: "running".into(),
            start_type: "enabled".into(),
            state_source: "systemctl".into(),
        })
        .collect();
    inv
}

impl Sim {
    async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.args.server))
            .bearer_auth(&self.args.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await?;
        let status = res.status();
        let text = res.text().await?;
        if !status.is_success() {
            bail!("{path}: {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// One simulated agent, from enrollment to the deadline.
    async fn agent(self: Arc<Self>, n: usize) {
        let key = AgentKey::generate();
        let agent_id = format!("sim-{}", uuid::Uuid::new_v4());
        let inventory = inventory_of(n);
        let enroll = EnrollRequest {
            agent_id: agent_id.clone(),
            org_secret: self.args.org_secret.clone(),
            public_key: key.public_hex(),
            agent_version: format!("{}-sim", crate::daemon::VERSION),
            system: inventory.system.clone(),
            interfaces: vec![],
        };
        let started = Instant::now();
        let enrolled = crate::daemon::client::enroll(&self.http, &self.args.server, &enroll).await;
        self.stats.record("enroll", started, &enrolled);
        let Ok(EnrollResponse {
            host_id,
            server_public_key,
            ..
        }) = enrolled
        else {
            return;
        };
        self.ledger.enrolled.fetch_add(1, Ordering::Relaxed);
        let client = Client::new(self.http.clone(), &self.args.server, &agent_id, key);

        let jitter = |every: Duration| every.mul_f64(rand::rng().random_range(0.0..1.0));
        let mut next_beat = Instant::now() + jitter(self.args.heartbeat_every);
        let mut next_inventory = Instant::now();
        let mut next_scan = Instant::now() + jitter(self.args.scan_every);
        let split = bulwark_protocol::inventory::categories(&inventory);
        let hashes: BTreeMap<String, String> = split
            .iter()
            .map(|(k, (h, _))| (k.clone(), h.clone()))
            .collect();
        let mut synced = false;
        loop {
            let next = next_beat.min(next_inventory).min(next_scan);
            if next >= self.deadline {
                return;
            }
            tokio::time::sleep_until(next.into()).await;
            let now_i = Instant::now();
            if now_i >= next_inventory {
                next_inventory += self.args.inventory_every;
                let categories = if synced {
                    BTreeMap::new()
                } else {
                    split
                        .iter()
                        .map(|(k, (_, v))| (k.clone(), v.clone()))
                        .collect()
                };
                let req = InventoryRequest {
                    hashes: hashes.clone(),
                    categories,
                };
                let t = Instant::now();
                let r: Result<Value, _> = client.post(wire::INVENTORY_PATH, &req).await;
                self.stats.record("inventory", t, &r);
                synced |= r.is_ok();
            }
            if now_i >= next_scan {
                next_scan += self.args.scan_every;
                let t = Instant::now();
                let r = self
                    .api(
                        reqwest::Method::POST,
                        "/api/v1/compliance/scans",
                        Some(json!({"policy_id": self.policy_id, "host_id": host_id})),
                    )
                    .await
                    .map_err(|e| CallError::Refused {
                        status: 0,
                        message: e.to_string(),
                    });
                self.stats.record("trigger scan (user API)", t, &r);
                if r.is_ok() {
                    self.ledger.triggered.fetch_add(1, Ordering::Relaxed);
                }
            }
            if now_i >= next_beat {
                next_beat += self.args.heartbeat_every;
                let t = Instant::now();
                let beat = wire::HeartbeatRequest {
                    agent_version: enroll.agent_version.clone(),
                    ..Default::default()
                };
                let r: Result<HeartbeatResponse, _> =
                    client.post(wire::HEARTBEAT_PATH, &beat).await;
                self.stats.record("heartbeat", t, &r);
                if r.is_ok_and(|a| a.pending_jobs > 0) {
                    self.run_jobs(&client, &agent_id, &server_public_key).await;
                }
            }
        }
    }

    async fn run_jobs(&self, client: &Client, agent_id: &str, server_key: &str) {
        let t = Instant::now();
        let r: Result<JobsResponse, _> = client.get(&format!("{}?wait=0", wire::JOBS_PATH)).await;
        self.stats.record("jobs", t, &r);
        let Ok(answer) = r else { return };
        for signed in answer.jobs {
            let Ok(Opened::Job(job)) = signed.open(server_key, agent_id, now()) else {
                self.stats.record::<()>(
                    "job signature",
                    Instant::now(),
                    &Err(CallError::Refused {
                        status: 0,
                        message: "a job did not verify".into(),
                    }),
                );
                continue;
            };
            let t = Instant::now();
            let r: Result<Value, _> = client.post(&wire::job_ack_path(&job.id), &json!({})).await;
            self.stats.record("ack", t, &r);
            // A simulated host performs no host actions; it says so, as an older agent would.
            let JobKind::ComplianceScan {
                scan_id, checks, ..
            } = job.kind
            else {
                let body = json!({"reason": "a simulated agent performs no host actions"});
                let r: Result<Value, _> = client.post(&wire::job_fail_path(&job.id), &body).await;
                self.stats.record("fail", Instant::now(), &r);
                continue;
            };
            let results: Vec<AgentResult> = checks
                .iter()
                .filter(|c| !c.probe.server_evaluated())
                .map(|c| AgentResult {
                    check_id: c.id.clone(),
                    outcome: CheckOutcome::judged(
                        rand::rng().random_bool(0.7),
                        Some("simulated".into()),
                        "simulated",
                    ),
                })
                .collect();
            // The server counts every enabled check, including those it evaluates itself.
            let sent = checks.len();
            let t = Instant::now();
            let r: Result<ResultsResponse, _> = client
                .post(&wire::results_path(&scan_id), &ResultsRequest { results })
                .await;
            self.stats.record("results", t, &r);
            if let Ok(answer) = r
                && answer.outcome == "completed"
                && self
                    .ledger
                    .completed
                    .lock()
                    .expect("ledger lock")
                    .insert(scan_id, sent)
                    .is_some()
            {
                self.ledger
                    .double_completions
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// The process's resident memory, split into its own (heap, stacks) and file pages: the
/// server maps the SQLite database (`mmap_size`), so pages a query touched count as resident
/// although the kernel can drop them at any time.
fn memory_of(pid: u32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    Some(format!(
        "RSS {} (peak {}): anonymous {}, file-backed {}",
        field("VmRSS:"),
        field("VmHWM:"),
        field("RssAnon:"),
        field("RssFile:")
    ))
}

pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let server = args.server.trim_end_matches('/').to_owned();
    let http = http_client();
    // One policy for the simulated Linux hosts; an existing one is reused.
    let probe = Sim {
        args: SimulateArgs {
            server: server.clone(),
            ..args
        },
        http: http.clone(),
        stats: Stats::default(),
        ledger: Ledger::default(),
        policy_id: String::new(),
        deadline: Instant::now(),
    };
    let policies = probe
        .api(reqwest::Method::GET, "/api/v1/compliance/policies", None)
        .await
        .context("listing policies (is --token right?)")?;
    let ours = |p: &&Value| {
        p["os_kind"] == "linux"
            && probe
                .args
                .org_id
                .as_deref()
                .is_none_or(|org| p["org_id"] == org)
    };
    let policy_id = match policies.as_array().and_then(|ps| ps.iter().find(ours)) {
        Some(p) => p["id"].as_str().unwrap_or_default().to_owned(),
        None => {
            let p = probe
                .api(reqwest::Method::POST, "/api/v1/compliance/policies", Some(json!({
                    "org_id": probe.args.org_id, "name": "Simulated fleet", "os_type": "linux",
                    "template_id": "cis-linux-l1", "scan_interval_hours": 168, "schedule_type": "manual"
                })))
                .await?;
            p["id"].as_str().unwrap_or_default().to_owned()
        }
    };
    let started = Instant::now();
    let sim = Arc::new(Sim {
        policy_id,
        deadline: started + probe.args.duration,
        ..probe
    });
    let mut tasks = tokio::task::JoinSet::new();
    let spacing = Duration::from_secs_f64(1.0 / f64::from(sim.args.enroll_rate.max(1)));
    let report = {
        let sim = sim.clone();
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                let total = sim.stats.requests.load(Ordering::Relaxed);
                let mut beats =
                    std::mem::take(&mut *sim.stats.recent_beats.lock().expect("stats lock"));
                beats.sort_unstable();
                let p99 = percentile(&beats, 0.99);
                sim.stats.window_p99s.lock().expect("stats lock").push(p99);
                eprintln!(
                    "[{:>4}s] agents enrolled {}, {:.0} requests/s, {} errors, {} scans completed, heartbeat p99 {:.1} ms",
                    started.elapsed().as_secs(),
                    sim.ledger.enrolled.load(Ordering::Relaxed),
                    (total - last) as f64 / 10.0,
                    sim.stats.errors(),
                    sim.ledger.completed.lock().expect("ledger lock").len(),
                    p99,
                );
                last = total;
            }
        })
    };
    for n in 0..sim.args.agents {
        tasks.spawn(sim.clone().agent(n));
        tokio::time::sleep(spacing).await;
    }
    while tasks.join_next().await.is_some() {}
    report.abort();
    if let Some(path) = &sim.args.acknowledged_out {
        let lines = acknowledged_lines(&sim.ledger.completed.lock().expect("ledger lock"));
        std::fs::write(path, lines).with_context(|| format!("writing {}", path.display()))?;
    }
    let elapsed = started.elapsed();
    summarize(&sim, elapsed).await
}

/// The `--acknowledged-out` file: `SCAN_ID CHECKS` per acknowledged scan, sorted by id.
fn acknowledged_lines(completed: &HashMap<String, usize>) -> String {
    let sorted: BTreeMap<_, _> = completed.iter().collect();
    sorted
        .into_iter()
        .map(|(id, checks)| format!("{id} {checks}\n"))
        .collect()
}

async fn summarize(sim: &Sim, elapsed: Duration) -> anyhow::Result<()> {
    // What the server kept, from its own export of completed scans.
    let export = sim
        .http
        .get(format!(
            "{}/api/v1/compliance/export?format=ndjson&limit=100000&policy_id={}",
            sim.args.server, sim.policy_id
        ))
        .bearer_auth(&sim.args.token)
        .send()
        .await?
        .text()
        .await?;
    let kept: HashMap<String, i64> = export
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| Some((v["scan_id"].as_str()?.to_owned(), v["total"].as_i64()?)))
        .collect();
    let completed = sim.ledger.completed.lock().expect("ledger lock");
    let lost = completed
        .keys()
        .filter(|id| !kept.contains_key(*id))
        .count();
    let miscounted = completed
        .iter()
        .filter(|(id, sent)| kept.get(*id).is_some_and(|total| *total != **sent as i64))
        .count();
    let duplicated = sim.ledger.double_completions.load(Ordering::Relaxed) as usize + miscounted;

    let total = sim.stats.requests.load(Ordering::Relaxed);
    println!(
        "simulated agents: {} enrolled of {}",
        sim.ledger.enrolled.load(Ordering::Relaxed),
        sim.args.agents
    );
    println!(
        "duration: {:.0} s; requests: {total} ({:.1}/s)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    println!();
    println!(
        "{:<26} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "endpoint", "requests", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    let endpoints = sim.stats.endpoints.lock().expect("stats lock");
    for (name, e) in endpoints.iter() {
        let mut sorted = e.micros.clone();
        sorted.sort_unstable();
        let errors: u64 = e.errors.values().sum();
        println!(
            "{name:<26} {:>9} {errors:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            sorted.len(),
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.9),
            percentile(&sorted, 0.99),
            percentile(&sorted, 1.0),
        );
    }
    for (name, e) in endpoints.iter().filter(|(_, e)| !e.errors.is_empty()) {
        for (kind, n) in &e.errors {
            println!("  error {name}: {n} × {kind}");
        }
    }
    let mut windows = sim.stats.window_p99s.lock().expect("stats lock").clone();
    windows.sort_unstable_by(f64::total_cmp);
    if let (Some(best), Some(worst)) = (windows.first(), windows.last()) {
        println!(
            "heartbeat p99 per 10 s window: best {best:.1} ms, median {:.1} ms, worst {worst:.1} ms ({} windows)",
            windows[windows.len() / 2],
            windows.len()
        );
    }
    println!();
    println!(
        "scans: {} triggered, {} answered and acknowledged, {} kept by the server; lost {lost}, duplicated {duplicated}",
        sim.ledger.triggered.load(Ordering::Relaxed),
        completed.len(),
        kept.len()
    );
    if let Some(pid) = sim.args.server_pid {
        println!(
            "server memory: {}",
            memory_of(pid).unwrap_or_else(|| "unreadable".into())
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledged_scans_are_one_sorted_line_each() {
        let completed = HashMap::from([("b".to_owned(), 7), ("a".to_owned(), 212)]);
        assert_eq!(acknowledged_lines(&completed), "a 212\nb 7\n");
        assert_eq!(acknowledged_lines(&HashMap::new()), "");
    }
}
