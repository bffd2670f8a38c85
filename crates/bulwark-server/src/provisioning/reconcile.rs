//! The gate's background work, on one replica at a time (a lease through the database):
//! settling provisioned machines whose scan ended, reporting run tasks back to Terraform,
//! and creating the scheduled rescans.

use std::time::Duration;

use bulwark_core::Status;
use bulwark_core::provisioning::{EnforcementMode, ProvisionStatus, Tally};
use bulwark_store::{
    NewProvisionedVm, NewScan, ProvisionedVm, RunTask, RunTaskReport, Scan, ScanStatus, Scope,
    TriggerKind, VmSettlement,
};

use super::terraform::{self, CallbackStatus, TaskResult};
use crate::AppState;
use crate::error::{ApiResult, AppError};

const LEASE: &str = "provisioning";
/// How often a run task still scanning tells Terraform so.
pub const RUNNING_EVERY: i64 = 30;
/// Terraform waits this long for a run task's result, then fails the task itself.
pub const CALLBACK_WINDOW: i64 = 10 * 60;
/// Why a stalled machine failed.
pub const STALLED: &str = "the server that received this machine stopped before its scan was queued; report the machine again (with a new run id) to scan it";
/// Callback attempts before Bulwark stops trying.
const MAX_ATTEMPTS: i64 = 20;

/// Runs forever: one pass per `poll`, woken early by deliveries.
pub async fn run(state: AppState) {
    let poll = state
        .config
        .provisioning
        .poll
        .max(Duration::from_millis(200));
    loop {
        if let Err(e) = pass(&state).await {
            tracing::error!(error = %e, "provisioning pass failed");
        }
        let _ = tokio::time::timeout(poll, state.provisioning_wake.notified()).await;
    }
}

/// One pass, if this replica holds the lease; answers whether it did.
pub async fn pass(state: &AppState) -> ApiResult<bool> {
    let ttl = (state.config.provisioning.poll.as_secs() as i64 * 3).max(10);
    if !state
        .store
        .try_lease(LEASE, &state.config.replica_id, ttl)
        .await?
    {
        return Ok(false);
    }
    for vm in state.store.unsettled_provisioned_vms(200).await? {
        if let Err(e) = settle(state, &vm).await {
            tracing::warn!(vm = %vm.id, error = %e, "cannot settle the provisioned machine");
        }
    }
    let now = bulwark_store::now();
    fail_stalled(state, now).await?;
    for task in state.store.open_run_tasks(100).await? {
        report(state, &task).await?;
    }
    schedule(state, now).await?;
    Ok(true)
}

/// Fails the machines that, as of `now`, went past the connect wait and the grace without a
/// scan (the replica starting them stopped); block mode keeps them blocked.
pub async fn fail_stalled(state: &AppState, now: i64) -> ApiResult<()> {
    let config = &state.config.provisioning;
    let cut_off = now - (config.connect_wait + config.stall_grace).as_secs() as i64;
    for vm in state.store.stalled_provisioned_vms(cut_off, 100).await? {
        let mode = super::settings_of(state, &vm.org_id)
            .await?
            .enforcement_mode;
        super::fail(state, &vm, mode, STALLED.into()).await?;
    }
    Ok(())
}

/// Settles a machine whose scan ended; a scan still under way is left.
async fn settle(state: &AppState, vm: &ProvisionedVm) -> ApiResult<()> {
    let Some(scan_id) = &vm.scan_id else {
        return Ok(());
    };
    let scan = state.store.get_scan(&Scope::All, scan_id).await?;
    let settings = super::settings_of(state, &vm.org_id).await?;
    match scan.status {
        ScanStatus::Pending | ScanStatus::Running => Ok(()),
        ScanStatus::Failed | ScanStatus::Cancelled => {
            let reason = scan
                .message
                .clone()
                .unwrap_or_else(|| format!("the scan was {}", scan.status));
            super::fail(state, vm, settings.enforcement_mode, reason).await?;
            Ok(())
        }
        ScanStatus::Completed => {
            let tally = tally_of(state, &scan).await?;
            let verdict = settings.judge(&tally);
            let settled = state
                .store
                .settle_provisioned_vm(
                    &vm.id,
                    &VmSettlement {
                        status: ProvisionStatus::Completed,
                        failure: None,
                        counts: Some(bulwark_core::Counts {
                            pass: scan.passed as u32,
                            fail: scan.failed as u32,
                            error: scan.errors as u32,
                            skip: scan.skipped as u32,
                            waived: scan.waived as u32,
                            ..Default::default()
                        }),
                        tally: Some(tally),
                        enforcement_mode: settings.enforcement_mode,
                        blocked: verdict.blocked,
                        reason: verdict.reason(),
                        at: bulwark_store::now(),
                    },
                )
                .await?;
            if settled
                && settings.enforcement_mode == EnforcementMode::Warn
                && let Some(reason) = verdict.reason()
            {
                let vm = state.store.get_provisioned_vm(&Scope::All, &vm.id).await?;
                crate::notify::provisioning_warning(state, &vm, &reason)
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))?;
            }
            Ok(())
        }
    }
}

/// The scan's score and its failures by severity.
async fn tally_of(state: &AppState, scan: &Scan) -> ApiResult<Tally> {
    let mut tally = Tally {
        score: scan.score,
        ..Tally::default()
    };
    for result in state
        .store
        .scan_results(&Scope::All, &scan.id, Some(Status::Fail))
        .await?
    {
        tally.count_failure(result.severity);
    }
    Ok(tally)
}

/// What a run task tells Terraform now: running while any machine is unsettled, failed when
/// one is held back, passed otherwise.
pub fn task_result(
    task: &RunTask,
    vms: &[ProvisionedVm],
    report_url: Option<String>,
) -> TaskResult {
    let Some(reported) = task.machines else {
        return TaskResult {
            status: CallbackStatus::Running,
            message: "Bulwark is reading the machines this run created".into(),
            url: None,
        };
    };
    if reported == 0 {
        return TaskResult {
            status: CallbackStatus::Passed,
            message: "the run reported no machines to scan".into(),
            url: report_url,
        };
    }
    let done = vms.iter().filter(|v| v.status.is_final()).count();
    if done < vms.len() {
        return TaskResult {
            status: CallbackStatus::Running,
            message: format!("{done} of {} machine(s) scanned", vms.len()),
            url: report_url,
        };
    }
    let held: Vec<String> = vms
        .iter()
        .filter(|v| v.held())
        .map(|v| {
            format!(
                "{}: {}",
                v.hostname,
                v.block_reason.as_deref().unwrap_or("blocked")
            )
        })
        .collect();
    if !held.is_empty() {
        return TaskResult {
            status: CallbackStatus::Failed,
            message: format!("handover blocked for {}", held.join("; ")),
            url: report_url,
        };
    }
    let noted: Vec<String> = vms
        .iter()
        .filter_map(|v| {
            let why = v.block_reason.as_deref().or(v.failure.as_deref())?;
            Some(format!("{}: {why}", v.hostname))
        })
        .collect();
    let scores: Vec<String> = vms
        .iter()
        .filter_map(|v| Some(format!("{} {:.1}%", v.hostname, v.score?)))
        .collect();
    let mut message = format!("{} machine(s) may be handed over", vms.len());
    if !scores.is_empty() {
        message.push_str(&format!(" ({})", scores.join(", ")));
    }
    if !noted.is_empty() {
        message.push_str(&format!("; not enforced: {}", noted.join("; ")));
    }
    TaskResult {
        status: CallbackStatus::Passed,
        message,
        url: report_url,
    }
}

/// Sends the run task's result when it changed to final, or a `running` reminder while the
/// scans go on; gives up when Terraform's window has closed.
async fn report(state: &AppState, task: &RunTask) -> ApiResult<()> {
    let now = bulwark_store::now();
    let vms = state.store.run_task_vms(&task.id).await?;
    let url = state.config.provisioning.public_url.as_ref().map(|base| {
        format!(
            "{}/provisioning?run={}",
            base.trim_end_matches('/'),
            task.run_id
        )
    });
    let result = task_result(task, &vms, url);
    let late = now - task.received_at > CALLBACK_WINDOW;
    let due = match result.status {
        CallbackStatus::Running => {
            task.reported.is_none() || task.reported_at.is_none_or(|at| now - at >= RUNNING_EVERY)
        }
        _ => true,
    };
    if !due {
        return Ok(());
    }
    if late && result.status == CallbackStatus::Running {
        state
            .store
            .run_task_reported(
                &task.id,
                &RunTaskReport {
                    sent: None,
                    message: Some(result.message),
                    error: Some(
                        "Terraform's 10-minute window closed before the scans finished".into(),
                    ),
                    done: true,
                    at: now,
                },
            )
            .await?;
        return Ok(());
    }
    let sent = send(state, task, &result).await?;
    let final_status = result.status != CallbackStatus::Running;
    let report = match sent {
        Ok(()) => {
            tracing::info!(run_task = %task.id, run = %task.run_id, status = result.status.as_str(), "run task reported to Terraform");
            RunTaskReport {
                sent: Some(result.status.as_str().into()),
                message: Some(result.message),
                error: None,
                done: final_status,
                at: now,
            }
        }
        Err(e) => {
            tracing::warn!(run_task = %task.id, error = %e, "run task callback failed");
            RunTaskReport {
                sent: None,
                message: None,
                done: late || task.attempts + 1 >= MAX_ATTEMPTS,
                error: Some(e),
                at: now,
            }
        }
    };
    state.store.run_task_reported(&task.id, &report).await?;
    Ok(())
}

/// PATCHes the run task's callback with its run's own token, to the addresses the
/// organization lets Bulwark call. The outer error is Bulwark's own (the token cannot be
/// opened); the inner one is the callback's.
pub async fn send(
    state: &AppState,
    task: &RunTask,
    result: &TaskResult,
) -> ApiResult<Result<(), String>> {
    let settings = super::settings_of(state, &task.org_id).await?;
    let sealed = state.store.sealed_run_task_token(&task.id).await?;
    let token = crate::secrets::open_string(
        state,
        &sealed,
        &run_task_token_context(&task.org_id, &task.task_result_id),
    )?;
    let client = crate::outbound::client(terraform::callback_policy(&settings));
    Ok(terraform::send_result(&client, &task.callback_url, &token, result).await)
}

/// What a run task's bearer token is sealed for.
pub fn run_task_token_context(org_id: &str, task_result_id: &str) -> String {
    format!("terraform-run-task:{org_id}:{task_result_id}")
}

/// Creates the rescans of organizations whose cron schedule fired since their last ones (as
/// of `now`): one new record per provisioned host, judged like a provisioning scan.
pub async fn schedule(state: &AppState, now: i64) -> ApiResult<()> {
    for stored in state.store.scheduled_compliance().await? {
        let Some(expr) = stored.settings.scan_schedule.as_deref() else {
            continue;
        };
        let cron = match crate::scheduler::parse_cron(expr) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(org = %stored.org_id, error = %e, "compliance schedule skipped");
                continue;
            }
        };
        let Some(fired) = crate::scheduler::last_fire_before(&cron, now) else {
            continue;
        };
        let last = stored.scheduled_at.unwrap_or(stored.updated_at);
        if fired <= last {
            continue;
        }
        state
            .store
            .mark_compliance_scheduled(&stored.org_id, fired)
            .await?;
        let settings = &stored.settings;
        for previous in state.store.provisioned_hosts(&stored.org_id).await? {
            let Some(host_id) = previous.host_id.clone() else {
                continue;
            };
            let (vm, new) = state
                .store
                .record_provisioned_vm(
                    &Scope::All,
                    &NewProvisionedVm {
                        org_id: previous.org_id.clone(),
                        source: previous.source,
                        provider: previous.provider,
                        tf_organization: previous.tf_organization.clone(),
                        workspace: previous.workspace.clone(),
                        project: previous.project.clone(),
                        run_id: format!("schedule-{fired}"),
                        address: previous.address.clone(),
                        port: u16::try_from(previous.port).unwrap_or(22),
                        hostname: previous.hostname.clone(),
                        host_key: previous.host_key.clone(),
                        run_task_id: None,
                        status: ProvisionStatus::Pending,
                        exempted: false,
                        failure: None,
                        enforcement_mode: settings.enforcement_mode,
                        profile: settings.profile,
                        min_score: settings.min_score,
                    },
                )
                .await?;
            if !new {
                continue;
            }
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
                .await?;
            state
                .store
                .start_provisioned_vm(&vm.id, Some(&host_id), Some(&scan.id))
                .await?;
            state.jobs_ready(&host_id);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_core::provisioning::{CisProfile, ProvisionSource, VmProvider};

    fn task(machines: Option<i64>) -> RunTask {
        RunTask {
            id: "t".into(),
            org_id: "o".into(),
            task_result_id: "taskrs-1".into(),
            run_id: "run-1".into(),
            workspace: None,
            callback_url: "https://x/cb".into(),
            received_at: 0,
            machines,
            reported: None,
            reported_at: None,
            message: None,
            attempts: 0,
            last_error: None,
            done: false,
        }
    }

    fn vm(name: &str, status: ProvisionStatus, blocked: bool, released: bool) -> ProvisionedVm {
        ProvisionedVm {
            id: name.into(),
            org_id: "o".into(),
            source: ProvisionSource::TerraformRunTask,
            provider: VmProvider::Aws,
            tf_organization: None,
            workspace: None,
            project: None,
            run_id: "run-1".into(),
            address: "10.0.0.1".into(),
            port: 22,
            hostname: name.into(),
            host_key: None,
            created_at: 0,
            host_id: None,
            scan_id: None,
            run_task_id: Some("t".into()),
            status,
            exempted: false,
            failure: None,
            enforcement_mode: EnforcementMode::Block,
            profile: CisProfile::Level1Server,
            min_score: 70.0,
            score: Some(64.2),
            critical_failures: Some(3),
            high_failures: Some(0),
            medium_failures: Some(0),
            low_failures: Some(0),
            passed: None,
            failed: None,
            errors: None,
            not_applicable: None,
            handover_blocked: blocked,
            block_reason: blocked.then(|| "3 critical CIS check(s) failed".into()),
            released_by: released.then(|| "admin".into()),
            released_at: released.then_some(1),
            release_reason: None,
            finished_at: None,
        }
    }

    #[test]
    fn run_task_status_follows_its_machines() {
        use ProvisionStatus::*;
        let cases: Vec<(Option<i64>, Vec<ProvisionedVm>, CallbackStatus)> = vec![
            (None, vec![], CallbackStatus::Running),
            (Some(0), vec![], CallbackStatus::Passed),
            (
                Some(2),
                vec![
                    vm("a", Completed, false, false),
                    vm("b", Running, false, false),
                ],
                CallbackStatus::Running,
            ),
            (
                Some(2),
                vec![
                    vm("a", Completed, false, false),
                    vm("b", Completed, true, false),
                ],
                CallbackStatus::Failed,
            ),
            (
                Some(2),
                vec![
                    vm("a", Completed, false, false),
                    vm("b", Completed, true, true),
                ],
                CallbackStatus::Passed,
            ),
            (
                Some(1),
                vec![vm("a", Failed, true, false)],
                CallbackStatus::Failed,
            ),
        ];
        for (machines, vms, want) in cases {
            let got = task_result(&task(machines), &vms, None);
            assert_eq!(got.status, want, "{machines:?}: {}", got.message);
        }
        let blocked = task_result(&task(Some(1)), &[vm("web-1", Completed, true, false)], None);
        assert_eq!(
            blocked.message,
            "handover blocked for web-1: 3 critical CIS check(s) failed"
        );
    }
}
