//! The provisioning gate: machines a provisioning run created are scanned over SSH against
//! the organization's CIS profile and judged for handover.
//!
//! Deliveries come in three ways (Terraform run tasks and notifications, signed with a
//! per-organization secret: [`terraform`]; the generic API, with a token). Each reported
//! machine is recorded once per run and address (`intake`), so a replayed delivery scans
//! nothing twice. A machine whose agent already enrolled (same organization and host name) is
//! scanned by that agent; any other becomes an agentless host of the organization: its host
//! key is the one the delivery named, or — when the settings trust new machines — the one it
//! presents at first contact, pinned from then on. Either way its scan is an ordinary scan of
//! the host, with the organization's exempted rules left out.
//!
//! [`reconcile`] settles machines whose scan ended (the blocking rules of
//! `ComplianceSettings::judge`, warn-mode notifications), reports run tasks back to Terraform,
//! and creates the scheduled rescans. It runs on one replica at a time, under a lease.

pub mod reconcile;
pub mod terraform;

use std::time::Duration;

use bulwark_core::provisioning::{
    ComplianceSettings, EnforcementMode, ProvisionSource, ProvisionStatus, VmProvider,
};
use bulwark_store::{
    Escalation, NewProvisionedVm, NewScan, NewSshHost, ProvisionedVm, Scope, TriggerKind,
    VmSettlement,
};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiResult, AppError, FieldError};

/// Settings of the provisioning gate on this installation.
#[derive(Debug, Clone)]
pub struct ProvisioningConfig {
    /// How long a new machine may take to answer SSH (cloud-init is often still starting
    /// sshd when the apply completes) before its scan fails.
    pub connect_wait: Duration,
    /// How often the reconciler looks for ended scans and due callbacks.
    pub poll: Duration,
    /// How long past `connect_wait` a machine may go without a scan before it counts as
    /// stalled (the replica starting it stopped) and fails.
    pub stall_grace: Duration,
    /// The server's address as users reach it, for links in Terraform's run view.
    pub public_url: Option<String>,
}

impl Default for ProvisioningConfig {
    fn default() -> Self {
        ProvisioningConfig {
            connect_wait: Duration::from_secs(180),
            poll: Duration::from_secs(2),
            stall_grace: Duration::from_secs(5 * 60),
            public_url: None,
        }
    }
}

/// One machine as a delivery reports it.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MachineEntry {
    /// Where the scanner connects: an IP address or a host name.
    pub address: String,
    /// The machine's name; the address when absent.
    #[serde(default)]
    pub hostname: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub provider: Option<VmProvider>,
    /// The Terraform project (or any grouping the tool has) the machine belongs to.
    #[serde(default)]
    pub project: Option<String>,
    /// The machine's SSH host key (`SHA256:` fingerprint or public key line), when the tool
    /// knows it; the scanner then accepts no other.
    #[serde(default)]
    pub host_key: Option<String>,
}

/// What a delivery says about the run the machines came from.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    pub tf_organization: Option<String>,
    pub workspace: Option<String>,
    pub project: Option<String>,
    pub run_id: String,
    pub provider: Option<VmProvider>,
    pub run_task_id: Option<String>,
}

/// The organization's settings, or the defaults when an administrator never saved any.
pub async fn settings_of(state: &AppState, org_id: &str) -> ApiResult<ComplianceSettings> {
    Ok(state
        .store
        .compliance_settings(&Scope::All, org_id)
        .await?
        .map(|s| s.settings)
        .unwrap_or_default())
}

/// Checks each entry of a delivery; problems name the entry's field (`machines[2].address`).
pub fn check_entries(field: &str, entries: &[MachineEntry]) -> ApiResult<()> {
    let mut problems = Vec::new();
    if entries.is_empty() {
        problems.push(FieldError {
            field: field.into(),
            message: "name at least one machine".into(),
        });
    }
    for (i, e) in entries.iter().enumerate() {
        let address = e.address.trim();
        if address.is_empty()
            || address.starts_with('-')
            || address.contains(|c: char| c.is_whitespace() || c.is_control() || c == '@')
        {
            problems.push(FieldError {
                field: format!("{field}[{i}].address"),
                message: format!("{address:?} is not a host name or IP address"),
            });
        }
        if e.port == Some(0) {
            problems.push(FieldError {
                field: format!("{field}[{i}].port"),
                message: "port must be 1-65535".into(),
            });
        }
        if let Some(key) = e
            .host_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            && let Err(err) = bulwark_ssh::HostKeyPolicy::Pinned(key.into()).validate()
        {
            problems.push(FieldError {
                field: format!("{field}[{i}].host_key"),
                message: err.to_string(),
            });
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(AppError::Invalid(problems)),
    }
}

/// Records the machines of one delivery and starts the scans of the new ones. Machines
/// already recorded for the run are answered as they are.
pub async fn intake(
    state: &AppState,
    org_id: &str,
    source: ProvisionSource,
    run: &RunContext,
    entries: &[MachineEntry],
) -> ApiResult<Vec<ProvisionedVm>> {
    let settings = settings_of(state, org_id).await?;
    let mut recorded = Vec::with_capacity(entries.len());
    for entry in entries {
        let project = entry.project.clone().or_else(|| run.project.clone());
        let exempted = settings.exempts_project(project.as_deref());
        let skipped = if exempted {
            Some(format!(
                "project {} is exempt from compliance scanning",
                project.as_deref().unwrap_or_default()
            ))
        } else if !settings.enabled {
            Some("compliance scanning is off for this organization".to_owned())
        } else if !settings.scan_on_provision {
            Some("scan on provision is off for this organization".to_owned())
        } else {
            None
        };
        let address = entry.address.trim().to_owned();
        let vm = NewProvisionedVm {
            org_id: org_id.to_owned(),
            source,
            provider: entry.provider.or(run.provider).unwrap_or(VmProvider::Other),
            tf_organization: run.tf_organization.clone(),
            workspace: run.workspace.clone(),
            exempted,
            project,
            run_id: run.run_id.clone(),
            hostname: entry
                .hostname
                .as_deref()
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .unwrap_or(&address)
                .to_owned(),
            port: entry.port.unwrap_or(22),
            host_key: entry
                .host_key
                .as_deref()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned),
            address,
            run_task_id: run.run_task_id.clone(),
            status: match skipped {
                Some(_) => ProvisionStatus::Cancelled,
                None => ProvisionStatus::Pending,
            },
            failure: skipped,
            enforcement_mode: settings.enforcement_mode,
            profile: settings.profile,
            min_score: settings.min_score,
        };
        let (vm, new) = state.store.record_provisioned_vm(&Scope::All, &vm).await?;
        if new && vm.status == ProvisionStatus::Pending {
            let state = state.clone();
            let settings = settings.clone();
            let started = vm.clone();
            tokio::spawn(async move { start(&state, &started, &settings).await });
        }
        recorded.push(vm);
    }
    Ok(recorded)
}

/// Makes the machine a host, reaches it, and queues its scan; a machine that cannot be
/// scanned is settled as failed with the reason (and, in block mode, stays blocked).
async fn start(state: &AppState, vm: &ProvisionedVm, settings: &ComplianceSettings) {
    let started = std::time::Instant::now();
    match prepare(state, vm, settings).await {
        Ok(scan_id) => tracing::info!(
            vm = %vm.id, scan = %scan_id, ms = started.elapsed().as_millis() as u64,
            "provisioned machine reached; scan queued"
        ),
        Err(reason) => {
            tracing::warn!(vm = %vm.id, reason = %reason, "provisioned machine cannot be scanned");
            if let Err(e) = fail(state, vm, settings.enforcement_mode, reason).await {
                tracing::error!(vm = %vm.id, error = %e, "cannot record the failed provisioning scan");
            }
        }
    }
}

/// Settles a machine whose scan could not be done. Block mode keeps it blocked: a machine
/// nobody could check is not known to be compliant.
pub(crate) async fn fail(
    state: &AppState,
    vm: &ProvisionedVm,
    mode: EnforcementMode,
    reason: String,
) -> ApiResult<bool> {
    let blocked = mode == EnforcementMode::Block;
    let block_reason = blocked.then(|| {
        format!("the machine could not be scanned, so block mode holds its handover until a scan passes or an administrator releases it: {reason}")
    });
    Ok(state
        .store
        .settle_provisioned_vm(
            &vm.id,
            &VmSettlement {
                status: ProvisionStatus::Failed,
                failure: Some(reason),
                tally: None,
                counts: None,
                enforcement_mode: mode,
                blocked,
                reason: block_reason,
                at: bulwark_store::now(),
            },
        )
        .await?)
}

async fn prepare(
    state: &AppState,
    vm: &ProvisionedVm,
    settings: &ComplianceSettings,
) -> Result<String, String> {
    let host_id = match enrolled_agent(state, vm).await? {
        Some(host_id) => host_id,
        None => ssh_host(state, vm, settings).await?,
    };
    let scan = state
        .store
        .create_scan(
            &Scope::All,
            &NewScan {
                org_id: vm.org_id.clone(),
                host_id: host_id.clone(),
                policy_id: None,
                template_id: settings.profile.template_id().to_owned(),
                trigger_kind: TriggerKind::Provision,
                passing_threshold: settings.min_score,
                created_at: None,
            },
        )
        .await
        .map_err(|e| format!("the scan cannot be queued: {e}"))?;
    state
        .store
        .start_provisioned_vm(&vm.id, Some(&host_id), Some(&scan.id))
        .await
        .map_err(|e| e.to_string())?;
    state.jobs_ready(&host_id);
    Ok(scan.id)
}

/// The host of an agent the machine already enrolled (same organization and host name),
/// which then scans it instead of the server over SSH.
async fn enrolled_agent(state: &AppState, vm: &ProvisionedVm) -> Result<Option<String>, String> {
    let hosts = state
        .store
        .list_hosts(&Scope::Orgs(vec![vm.org_id.clone()]))
        .await
        .map_err(|e| e.to_string())?;
    Ok(hosts
        .into_iter()
        .find(|h| {
            h.connection == bulwark_store::HostConnection::Agent
                && h.hostname.eq_ignore_ascii_case(&vm.hostname)
        })
        .map(|h| h.id))
}

/// Registers the machine as an agentless host and reaches it over SSH; answers the host.
async fn ssh_host(
    state: &AppState,
    vm: &ProvisionedVm,
    settings: &ComplianceSettings,
) -> Result<String, String> {
    let credential = settings.ssh_credential_id.clone().ok_or(
        "the machine has no agent, and the organization's compliance settings name no SSH credential to log in with",
    )?;
    let host = state
        .store
        .create_ssh_host(
            &Scope::All,
            &NewSshHost {
                org_id: vm.org_id.clone(),
                hostname: vm.hostname.clone(),
                address: vm.address.clone(),
                port: u16::try_from(vm.port).unwrap_or(22),
                username: settings.ssh_user.trim().to_owned(),
                credential_id: credential,
                escalation: match settings.ssh_sudo {
                    true => Escalation::Sudo,
                    false => Escalation::None,
                },
                host_key: vm.host_key.clone(),
            },
        )
        .await
        .map_err(|e| format!("the machine cannot be registered as a host: {e}"))?;
    state
        .store
        .start_provisioned_vm(&vm.id, Some(&host.id), None)
        .await
        .map_err(|e| e.to_string())?;
    reach(state, vm, &host.id, settings).await?;
    Ok(host.id)
}

/// Checks the machine until it answers (or `connect_wait` passes), trusting its first key
/// when the settings say so and the delivery named none.
async fn reach(
    state: &AppState,
    vm: &ProvisionedVm,
    host_id: &str,
    settings: &ComplianceSettings,
) -> Result<(), String> {
    let give_up = tokio::time::Instant::now() + state.config.provisioning.connect_wait;
    let mut pause = Duration::from_millis(500);
    loop {
        let report = crate::agentless::check_host(state, host_id)
            .await
            .map_err(|e| e.to_string())?;
        if report.ok {
            return Ok(());
        }
        let target = state
            .store
            .ssh_target(&Scope::All, host_id)
            .await
            .map_err(|e| e.to_string())?;
        if let (None, Some(offered)) = (&target.host_key, &target.offered_key) {
            if !(settings.trust_new_host_keys && vm.host_key.is_none()) {
                return Err(format!(
                    "the machine offered host key {offered}, which nobody approved (the delivery named no key and the settings do not trust new machines' keys)"
                ));
            }
            state
                .store
                .approve_host_key(&Scope::All, host_id, offered)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(vm = %vm.id, host = %host_id, key = %offered, "new machine's host key trusted at first contact");
            continue;
        }
        // Logged in but unfit (no sudo, unsupported system): waiting will not help.
        if report.logged_in || tokio::time::Instant::now() + pause > give_up {
            return Err(report.problems.join("; "));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

/// The check ids a scan leaves out: the organization's exempted rules, for provisioning
/// scans only.
pub async fn exempted_rules(
    state: &AppState,
    scan: &bulwark_store::Scan,
) -> ApiResult<Vec<String>> {
    if scan.trigger_kind != TriggerKind::Provision {
        return Ok(Vec::new());
    }
    let settings = settings_of(state, &scan.org_id).await?;
    Ok(settings
        .exempted_rules
        .iter()
        .map(|r| r.trim().to_owned())
        .collect())
}

/// What an exempted check's result says.
pub const EXEMPTED: &str =
    "exempted: the organization's compliance settings skip this rule on provisioned machines";
