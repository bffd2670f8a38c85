//! One native scan job evaluated on a host. The agent runs its scan jobs through [`run`];
//! agentless scanning uploads the `bulwark-scanner` program (a static build of this crate)
//! with the job as a JSON file, runs it under sudo, and reads the [`ScanAnswer`] it prints.
//! Both paths therefore judge a host with the same code and give the same verdicts.

use std::path::Path;

use bulwark_core::{Check, CheckOutcome, Engine, Framework, HostOs, Template};
use bulwark_engine::HostRoot;
use bulwark_protocol::wire::AgentResult;
use serde::{Deserialize, Serialize};

/// What to evaluate: the job's checks as the server sent them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    pub template_id: String,
    pub template_name: String,
    pub checks: Vec<Check>,
    /// Checks that run commands are evaluated only when allowed; otherwise each is an error
    /// with this reason (whoever owns the host has not opted in).
    pub commands: CommandPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandPolicy {
    Allowed,
    Refused { reason: String },
}

/// What a scan found: the host's identity and one result per check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanAnswer {
    pub os: HostOs,
    pub results: Vec<AgentResult>,
}

/// Scans the host at `root` (`/` for the running system); the engine skips the kinds the
/// server evaluates. Fails only when `root` is not a host the engine can read.
pub fn run(root: &Path, request: ScanRequest) -> Result<ScanAnswer, String> {
    let ScanRequest {
        template_id,
        template_name,
        checks,
        commands,
    } = request;
    let (checks, refused): (Vec<_>, Vec<_>) = checks
        .into_iter()
        .partition(|c| commands == CommandPolicy::Allowed || !c.runs_commands());
    let host = HostRoot::at(root);
    let os = host.detect_os().map_err(|e| e.to_string())?;
    let template = Template {
        id: template_id,
        name: template_name,
        framework: Framework::Custom,
        os: os.kind,
        version: String::new(),
        benchmark: String::new(),
        engine: Engine::Native,
        checks,
    };
    let report = bulwark_engine::scan(host, &template, |_, _, _| {}).map_err(|e| e.to_string())?;
    let refusal = match &commands {
        CommandPolicy::Allowed => String::new(),
        CommandPolicy::Refused { reason } => reason.clone(),
    };
    let results = report
        .results
        .into_iter()
        .map(|r| AgentResult {
            check_id: r.id,
            outcome: r.outcome,
        })
        .chain(refused.into_iter().map(|c| AgentResult {
            outcome: CheckOutcome::error(
                Check::describe_expectation(&c.probe, c.expect.as_ref()),
                refusal.clone(),
            ),
            check_id: c.id,
        }))
        .collect();
    Ok(ScanAnswer { os, results })
}
