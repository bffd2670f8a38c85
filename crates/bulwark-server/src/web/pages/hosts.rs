//! Hosts: the fleet with filters and bulk selection, and one host's inventory by tab with
//! its compliance history.

use askama::Template;
use axum::extract::{Path, Query, State};
use bulwark_store::{Host, HostConnection, HostGroup, Policy, Scan, SshCredential, SshTarget};
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::agentless::SshCheckReport;
use crate::api::agentless::{self, ApproveBody, ConnectionBody, CredentialBody, HostBody};
use crate::api::hosts::{self, GroupBody, HostFilter, MaintenanceBody, MemberBody};
use crate::auth::Caller;
use crate::body::{Body, Params};
use crate::error::AppError;
use crate::web::charts::{self, Point};
use crate::web::fmt;
use crate::web::form::{Done, Form, Outcome, go_to};
use crate::web::page::{Chrome, OrErrorPage, PageResult, render_html};

#[derive(Template)]
#[template(path = "hosts.html")]
struct HostsPage {
    chrome: Chrome,
    hosts: Vec<Host>,
    groups: Vec<HostGroup>,
    policies: Vec<Policy>,
    filter: HostFilter,
    total: usize,
    /// Hosts that match the filters, on every page.
    matched: usize,
    /// Each scanned host's latest score.
    scores: std::collections::HashMap<String, Option<f64>>,
    /// SSH credentials for registering agentless hosts (for those who may manage hosts).
    credentials: Vec<SshCredential>,
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    filter: Result<Params<HostFilter>, AppError>,
) -> PageResult {
    let Params(filter) = filter.or_page(&chrome)?;
    let offset = filter.offset.unwrap_or(0).max(0);
    let echo = HostFilter {
        limit: Some(PAGE_SIZE),
        offset: Some(offset),
        ..filter.unpaged()
    };
    // Every match is counted; only one page of them is drawn.
    let matching = hosts::list(State(s.clone()), caller.clone(), Params(filter.unpaged()))
        .await
        .or_page(&chrome)?
        .0;
    let matched = matching.len();
    let hosts: Vec<Host> = matching
        .into_iter()
        .skip(offset as usize)
        .take(PAGE_SIZE as usize)
        .collect();
    let total = s
        .store
        .list_hosts(&caller.scope)
        .await
        .or_page(&chrome)?
        .len();
    let groups = s.store.list_groups(&caller.scope).await.or_page(&chrome)?;
    let policies = s
        .store
        .list_policies(&caller.scope)
        .await
        .or_page(&chrome)?;
    let scores = s
        .store
        .latest_scores(&caller.scope)
        .await
        .or_page(&chrome)?
        .into_iter()
        .map(|l| (l.host_id, l.score))
        .collect();
    let credentials = if chrome.can_manage_hosts {
        agentless::list_credentials(State(s.clone()), caller.clone())
            .await
            .or_page(&chrome)?
            .0
    } else {
        Vec::new()
    };
    Ok(render_html(&HostsPage {
        credentials,
        chrome,
        hosts,
        groups,
        policies,
        filter: echo,
        total,
        matched,
        scores,
    }))
}

/// Hosts drawn per page of the list.
const PAGE_SIZE: i64 = 50;

impl HostsPage {
    /// The list's query string at another offset (the filters kept).
    fn page_query(&self, offset: i64) -> String {
        let f = &self.filter;
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(v) = f.status {
            pairs.push(("status", v.to_string()));
        }
        if let Some(v) = f.health {
            pairs.push(("health", v.to_string()));
        }
        if let Some(v) = f.os_kind {
            pairs.push(("os_kind", v.to_string()));
        }
        if let Some(v) = &f.group_id {
            pairs.push(("group_id", v.clone()));
        }
        if let Some(v) = &f.q {
            pairs.push(("q", v.clone()));
        }
        if let Some(v) = f.sort {
            pairs.push(("sort", v.to_string()));
        }
        pairs.push(("offset", offset.to_string()));
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    fn offset(&self) -> i64 {
        self.filter.offset.unwrap_or(0)
    }

    /// The host's latest score; `None` when it was never scanned or nothing was scorable.
    fn score_of(&self, host_id: &str) -> Option<f64> {
        self.scores.get(host_id).copied().flatten()
    }
}

pub const TABS: &[(&str, &str)] = &[
    ("summary", "Summary"),
    ("network", "Network"),
    ("services", "Services"),
    ("processes", "Processes"),
    ("users", "Users"),
    ("groups", "Groups"),
    ("software", "Software"),
    ("security", "Security"),
    ("drives", "Drives"),
    ("startup", "Startup"),
    ("patches", "Patches"),
    ("events", "Events"),
    ("compliance", "Compliance"),
    ("diagnostics", "Diagnostics"),
    ("jobs", "Jobs"),
];

/// A piece of inventory as the page shows it: facts as name/value pairs, or a table.
pub enum Block {
    Facts {
        title: String,
        facts: Vec<(String, String)>,
    },
    Table {
        title: String,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

#[derive(Template)]
#[template(path = "host.html")]
struct HostPage {
    chrome: Chrome,
    host: Host,
    tab: &'static str,
    blocks: Vec<Block>,
    /// The inventory category was never sent by the agent.
    missing: Vec<&'static str>,
    compliance: Option<Compliance>,
    groups: Vec<HostGroup>,
    /// An agentless host's connection and last check (summary tab).
    ssh: Option<SshPanel>,
    /// The host's recent jobs (jobs tab), refreshing while one has not ended.
    jobs: Vec<bulwark_store::AgentJob>,
    jobs_live: bool,
    /// Names the action forms offer (services tab, users tab).
    service_names: Vec<String>,
    user_names: Vec<String>,
    event_filter: Option<EventFilter>,
}

struct EventFilter {
    sources: Vec<String>,
    level: String,
    source: String,
}

impl HostPage {
    /// The job table's host column (every job here is this host's).
    fn hostname(&self, _id: &str) -> String {
        self.host.hostname.clone()
    }
}

/// The `name` of every record of an inventory category.
fn names_in(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

struct SshPanel {
    target: SshTarget,
    report: Option<SshCheckReport>,
}

struct Compliance {
    latest: Option<Scan>,
    history: Vec<Scan>,
    chart: Option<String>,
    policies: Vec<Policy>,
    /// Active templates that fit the host, for a scan with another template than the policy's.
    templates: Vec<bulwark_store::TemplateSummary>,
    failed: Vec<bulwark_store::ScanResult>,
}

#[derive(Deserialize)]
pub struct TabQuery {
    tab: Option<String>,
    /// Events tab: this level or a more severe one.
    level: Option<String>,
    /// Events tab: entries of this program only.
    source: Option<String>,
}

/// The events of the category that pass the tab's filters: `level` or more severe, from
/// `source`.
fn filter_events(value: &mut Value, level: Option<&str>, source: Option<&str>) {
    use bulwark_core::inventory::EVENT_LEVELS;
    let rank = |l: &str| EVENT_LEVELS.iter().position(|x| *x == l);
    let most = level.and_then(rank);
    if let Some(Value::Array(entries)) = value.get_mut("entries") {
        entries.retain(|e| {
            let l = e.get("level").and_then(Value::as_str).unwrap_or("info");
            let s = e.get("source").and_then(Value::as_str).unwrap_or("");
            most.is_none_or(|m| rank(l).is_some_and(|r| r <= m))
                && source.is_none_or(|want| want.is_empty() || want == s)
        });
    }
}

/// The programs that logged the category's events, for the filter.
fn event_sources(value: Option<&Value>) -> Vec<String> {
    let mut sources: Vec<String> = value
        .and_then(|v| v.get("entries"))
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e.get("source").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    sources.sort();
    sources.dedup();
    sources
}

pub async fn detail(
    State(s): State<AppState>,
    caller: Caller,
    chrome: Chrome,
    Path(id): Path<String>,
    Query(q): Query<TabQuery>,
) -> PageResult {
    let tab = TABS
        .iter()
        .map(|(t, _)| *t)
        .find(|t| Some(*t) == q.tab.as_deref())
        .unwrap_or("summary");
    let detail = hosts::get_one(State(s.clone()), caller.clone(), Path(id))
        .await
        .or_page(&chrome)?
        .0;
    let host = detail.host;
    let categories: &[&'static str] = match tab {
        "summary" => &["system", "hardware"],
        "compliance" => &[],
        "network" => &["network"],
        "services" => &["services"],
        "processes" => &["processes"],
        "users" => &["users"],
        "groups" => &["groups"],
        "software" => &["software"],
        "security" => &["security"],
        "drives" => &["drives"],
        "startup" => &["startup"],
        "patches" => &["patches"],
        "events" => &["events"],
        _ => &[],
    };
    let mut blocks = Vec::new();
    let mut missing = Vec::new();
    for category in categories {
        match detail.inventory.get(*category).cloned().flatten() {
            Some(mut value) => {
                if *category == "events" {
                    filter_events(&mut value, q.level.as_deref(), q.source.as_deref());
                }
                blocks.extend(blocks_of(category, &value))
            }
            None => missing.push(*category),
        }
    }
    let event_filter = (tab == "events").then(|| EventFilter {
        sources: event_sources(detail.inventory.get("events").and_then(Option::as_ref)),
        level: q.level.clone().unwrap_or_default(),
        source: q.source.clone().unwrap_or_default(),
    });
    let compliance = if tab == "compliance" {
        let latest = s
            .store
            .latest_scan(&caller.scope, &host.id)
            .await
            .or_page(&chrome)?;
        let history = s
            .store
            .host_history(&caller.scope, &host.id, 60)
            .await
            .or_page(&chrome)?;
        let points: Vec<Point> = history
            .iter()
            .rev()
            .map(|scan| Point {
                label: fmt::day(&scan.completed_at.unwrap_or(scan.created_at)),
                value: scan.score,
                note: scan.template_name.clone(),
            })
            .collect();
        let chart = charts::score_line("Score of each scan", &points, None);
        let failed = match &latest {
            Some(scan) => s
                .store
                .scan_results(&caller.scope, &scan.id, Some(bulwark_core::Status::Fail))
                .await
                .or_page(&chrome)?,
            None => vec![],
        };
        let all_policies = s
            .store
            .list_policies(&caller.scope)
            .await
            .or_page(&chrome)?;
        let policies = bulwark_store::policy_for_host(&all_policies, &host.org_id, host.os_kind)
            .into_iter()
            .cloned()
            .collect();
        let templates = s
            .store
            .list_templates(&caller.scope, &Default::default())
            .await
            .or_page(&chrome)?
            .into_iter()
            .filter(|t| {
                t.active
                    && t.org_id.as_ref().is_none_or(|o| *o == host.org_id)
                    && crate::api::templates::fits(t, &host)
            })
            .collect();
        Some(Compliance {
            latest,
            history,
            chart,
            policies,
            templates,
            failed,
        })
    } else {
        None
    };
    let groups = s
        .store
        .list_groups(&caller.scope)
        .await
        .or_page(&chrome)?
        .into_iter()
        .filter(|g| g.org_id == host.org_id)
        .collect();
    let ssh = if tab == "summary" && host.connection == HostConnection::Ssh {
        let target = agentless::target(State(s.clone()), caller.clone(), Path(host.id.clone()))
            .await
            .or_page(&chrome)?
            .0;
        let report = target
            .check_report
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok());
        Some(SshPanel { target, report })
    } else {
        None
    };
    let jobs = if tab == "jobs" {
        let filter = bulwark_store::JobFilter {
            host_id: Some(host.id.clone()),
            limit: Some(50),
            ..Default::default()
        };
        s.store
            .list_jobs(&caller.scope, &filter)
            .await
            .or_page(&chrome)?
    } else {
        vec![]
    };
    let jobs_live = jobs.iter().any(|j| !j.status.is_finished());
    let service_names = names_in(detail.inventory.get("services").and_then(Option::as_ref));
    let user_names = names_in(detail.inventory.get("users").and_then(Option::as_ref));
    Ok(render_html(&HostPage {
        event_filter,
        jobs,
        jobs_live,
        service_names,
        user_names,
        ssh,
        chrome,
        host,
        tab,
        blocks,
        missing,
        compliance,
        groups,
    }))
}

fn title_of(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A value as a cell: sizes and times read by people, lists joined.
fn cell(key: &str, value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Number(n) if key.ends_with("_bytes") => n.as_f64().map_or_else(String::new, bytes),
        Value::Number(n)
            if ["last_login", "password_expires"].contains(&key) || key.ends_with("_at") =>
        {
            n.as_i64().map_or_else(String::new, |t| fmt::day(&t))
        }
        Value::Number(n) if key.ends_with("_secs") => n.as_i64().map_or_else(String::new, |s| {
            format!("{} days {} h", s / 86_400, (s % 86_400) / 3600)
        }),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.is_empty() => "—".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|v| cell(key, v))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(_) => value.to_string(),
    }
}

fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut size = n;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{size:.0} B")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}

/// An inventory category as blocks: an object's scalar fields as facts and its lists of
/// records as tables; a list of records as one table.
pub fn blocks_of(category: &str, value: &Value) -> Vec<Block> {
    match value {
        Value::Array(items) => vec![table(&title_of(category), items)],
        Value::Object(fields) => {
            let mut facts = Vec::new();
            let mut tables = Vec::new();
            for (key, v) in fields {
                match v {
                    Value::Array(items) if items.iter().any(Value::is_object) => {
                        tables.push(table(&title_of(key), items))
                    }
                    v => facts.push((title_of(key), cell(key, v))),
                }
            }
            let mut blocks = vec![Block::Facts {
                title: title_of(category),
                facts,
            }];
            blocks.extend(tables);
            blocks
        }
        v => vec![Block::Facts {
            title: title_of(category),
            facts: vec![(title_of(category), cell(category, v))],
        }],
    }
}

fn table(title: &str, items: &[Value]) -> Block {
    let columns: Vec<String> = items
        .iter()
        .find_map(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let rows = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|c| cell(c, item.get(c).unwrap_or(&Value::Null)))
                .collect()
        })
        .collect();
    Block::Table {
        title: format!("{title} ({})", items.len()),
        columns: columns.iter().map(|c| title_of(c)).collect(),
        rows,
    }
}

pub async fn maintenance(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(b): Form<MaintenanceBody>,
) -> Outcome {
    let _ = hosts::set_maintenance(State(s), caller, Path(id.clone()), Body(b)).await?;
    go_to(format!("/hosts/{id}"))
}

pub async fn delete(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> Outcome {
    let _ = hosts::delete_one(State(s), caller, Path(id)).await?;
    go_to("/hosts")
}

pub async fn create_group(
    State(s): State<AppState>,
    caller: Caller,
    Form(b): Form<GroupBody>,
) -> Outcome {
    let _ = hosts::create_group(State(s), caller, Body(b)).await?;
    go_to("/hosts")
}

#[derive(Deserialize)]
pub struct GroupChoice {
    group_id: String,
}

pub async fn add_to_group(
    State(s): State<AppState>,
    caller: Caller,
    Path(host_id): Path<String>,
    Form(choice): Form<GroupChoice>,
) -> Outcome {
    let member = MemberBody {
        host_id: host_id.clone(),
    };
    let _ = hosts::add_member(State(s), caller, Path(choice.group_id), Body(member)).await?;
    go_to(format!("/hosts/{host_id}"))
}

pub async fn create_credential(
    State(s): State<AppState>,
    caller: Caller,
    Form(b): Form<CredentialBody>,
) -> Outcome {
    let created = agentless::create_credential(State(s), caller, Body(b))
        .await?
        .0;
    let html = CredentialStored {
        name: created.credential.name,
        public_key: created.public_key,
    }
    .render()
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Done::Show(html))
}

/// What a stored credential shows in its form: the public key to install, once.
#[derive(Template)]
#[template(
    source = r#"<div class="alert alert-success" role="status">Credential <strong>{{ name }}</strong> stored. {% if let Some(key) = public_key %}Add this line to <code>~/.ssh/authorized_keys</code> of the login user on each host:<pre class="mono" data-testid="public-key">{{ key }}</pre>{% endif %}<a href="/hosts#agentless">Register a host with it</a></div>"#,
    ext = "html"
)]
struct CredentialStored {
    name: String,
    public_key: Option<String>,
}

/// The registration form, flat: the API's body nests the connection.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentlessHostForm {
    org_id: Option<String>,
    hostname: String,
    address: String,
    port: Option<u16>,
    username: String,
    credential_id: String,
    escalation: Option<bulwark_store::Escalation>,
    host_key: Option<String>,
}

pub async fn create_agentless(
    State(s): State<AppState>,
    caller: Caller,
    Form(f): Form<AgentlessHostForm>,
) -> Outcome {
    let body = HostBody {
        org_id: f.org_id,
        hostname: f.hostname,
        connection: ConnectionBody {
            address: f.address,
            port: f.port.unwrap_or(22),
            username: f.username,
            credential_id: f.credential_id,
            escalation: f.escalation.unwrap_or(bulwark_store::Escalation::Sudo),
            host_key: f.host_key,
        },
    };
    let host = agentless::create_host(State(s), caller, Body(body))
        .await?
        .0;
    go_to(format!("/hosts/{}", host.id))
}

pub async fn ssh_check(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Outcome {
    let _ = agentless::check(State(s), caller, Path(id.clone())).await?;
    go_to(format!("/hosts/{id}"))
}

pub async fn approve_key(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(b): Form<ApproveBody>,
) -> Outcome {
    let _ = agentless::approve_key(State(s), caller, Path(id.clone()), Body(b)).await?;
    go_to(format!("/hosts/{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_events_tab_filters_by_level_or_worse_and_by_source() {
        let events = serde_json::json!({"origin": "journald", "entries": [
            {"at": 3, "level": "error", "source": "sshd", "message": "a"},
            {"at": 2, "level": "info", "source": "sshd", "message": "b"},
            {"at": 1, "level": "critical", "source": "kernel", "message": "c"},
        ]});
        let kept = |level: Option<&str>, source: Option<&str>| {
            let mut v = events.clone();
            filter_events(&mut v, level, source);
            v["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["message"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(kept(Some("error"), None), ["a", "c"]);
        assert_eq!(kept(Some("error"), Some("sshd")), ["a"]);
        assert_eq!(kept(None, Some("")), ["a", "b", "c"]);
        assert_eq!(event_sources(Some(&events)), ["kernel", "sshd"]);
    }

    #[test]
    fn inventory_reads_as_facts_and_tables() {
        let network = json!({
            "interfaces": [{"name": "eth0", "addresses": ["10.0.0.2/24"], "up": true}],
            "nameservers": ["10.0.0.1", "10.0.0.53"],
        });
        let blocks = blocks_of("network", &network);
        let Block::Facts { facts, .. } = &blocks[0] else {
            panic!()
        };
        assert_eq!(
            facts,
            &[("Nameservers".to_string(), "10.0.0.1, 10.0.0.53".to_string())]
        );
        let Block::Table {
            title,
            columns,
            rows,
        } = &blocks[1]
        else {
            panic!()
        };
        assert_eq!(title, "Interfaces (1)");
        assert_eq!(columns, &["Addresses", "Name", "Up"]);
        assert_eq!(rows[0], ["10.0.0.2/24", "eth0", "yes"]);
        let drives = json!([{"mount": "/", "total_bytes": 1_610_612_736u64, "used_percent": 42.5}]);
        let Block::Table { rows, .. } = &blocks_of("drives", &drives)[0] else {
            panic!()
        };
        assert_eq!(rows[0], ["/", "1.5 GiB", "42.5"]);
    }
}
