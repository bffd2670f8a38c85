//! The provisioning gate over the API: the organization's compliance settings (admins), the
//! overview and the provisioned machines (provisioners and admins), the handover answer a
//! pipeline polls, releases (admins), the generic intake for any provisioning tool, and the
//! two signed Terraform deliveries.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bulwark_core::provisioning::{
    ComplianceSettings, ProvisionSource, ProvisionStatus, VmProvider,
};
use bulwark_store::{
    ProvisionedVm, ProvisionedVmFilter, ProvisioningOverview, ProvisioningSecret, Scope,
    SealedSecretUpdates, StoredComplianceSettings,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::audit::Note;
use crate::auth::Caller;
use crate::body::{Body, Params, parse_json};
use crate::error::{ApiResult, AppError, FieldError};
use crate::provisioning::terraform::{
    self, NOTIFICATION_SIGNATURE, NotificationRequest, RUN_TASK_SIGNATURE, RunTaskRequest,
};
use crate::provisioning::{self as gate, MachineEntry, RunContext};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgQuery {
    pub org_id: Option<String>,
}

/// An organization's settings as administrators see them: never the secrets, only whether
/// each is set, and the addresses to give Terraform.
#[derive(Serialize, JsonSchema)]
pub struct SettingsAnswer {
    pub org_id: String,
    pub settings: ComplianceSettings,
    pub has_run_task_key: bool,
    pub has_notification_token: bool,
    pub has_terraform_token: bool,
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
    /// The path to configure as the run task's URL (after the server's address).
    pub run_task_path: String,
    /// The path to configure as the notification destination's URL.
    pub notification_path: String,
}

fn settings_answer(org_id: &str, stored: Option<StoredComplianceSettings>) -> SettingsAnswer {
    let run_task_path = format!("/api/v1/provisioning/terraform/{org_id}/run-task");
    let notification_path = format!("/api/v1/provisioning/terraform/{org_id}/notification");
    match stored {
        Some(s) => SettingsAnswer {
            org_id: s.org_id,
            settings: s.settings,
            has_run_task_key: s.has_run_task_key,
            has_notification_token: s.has_notification_token,
            has_terraform_token: s.has_terraform_token,
            updated_at: Some(s.updated_at),
            updated_by: Some(s.updated_by),
            run_task_path,
            notification_path,
        },
        None => SettingsAnswer {
            org_id: org_id.to_owned(),
            settings: ComplianceSettings::default(),
            has_run_task_key: false,
            has_notification_token: false,
            has_terraform_token: false,
            updated_at: None,
            updated_by: None,
            run_task_path,
            notification_path,
        },
    }
}

pub async fn get_settings(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<OrgQuery>,
) -> ApiResult<Json<SettingsAnswer>> {
    let org = caller.org_for(&s.store, q.org_id.as_deref()).await?;
    let stored = s.store.compliance_settings(&caller.scope, &org).await?;
    Ok(Json(settings_answer(&org, stored)))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    pub org_id: Option<String>,
    pub settings: ComplianceSettings,
    /// The HMAC key Terraform signs run tasks with (write-only; empty or null clears it).
    #[serde(default, deserialize_with = "super::present")]
    pub run_task_key: Option<Option<String>>,
    /// The token of Terraform's notification configuration (write-only).
    #[serde(default, deserialize_with = "super::present")]
    pub notification_token: Option<Option<String>>,
    /// A Terraform API token that may read workspace outputs (write-only).
    #[serde(default, deserialize_with = "super::present")]
    pub terraform_token: Option<Option<String>>,
}

/// What a secret is sealed for: its organization and purpose.
pub fn secret_owner(org_id: &str, which: ProvisioningSecret) -> String {
    format!("compliance:{org_id}:{which:?}")
}

/// Checks settings an administrator submits; problems name `settings.<field>`.
pub async fn check_settings(
    s: &AppState,
    caller: &Caller,
    org: &str,
    settings: &ComplianceSettings,
) -> ApiResult<()> {
    let mut problems: Vec<FieldError> = settings
        .problems()
        .into_iter()
        .map(|(field, message)| FieldError {
            field: format!("settings.{field}"),
            message,
        })
        .collect();
    if let Some(expr) = &settings.scan_schedule
        && let Err(e) = crate::scheduler::parse_cron(expr)
    {
        problems.push(FieldError {
            field: "settings.scan_schedule".into(),
            message: e,
        });
    }
    if let Some(id) = &settings.ssh_credential_id {
        let known = s
            .store
            .list_ssh_credentials(&caller.scope)
            .await?
            .into_iter()
            .any(|c| c.id == *id && c.org_id == org);
        if !known {
            problems.push(FieldError {
                field: "settings.ssh_credential_id".into(),
                message: "no such SSH credential in this organization".into(),
            });
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(AppError::Invalid(problems)),
    }
}

pub async fn put_settings(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<SettingsBody>,
) -> ApiResult<Response> {
    let org = caller.org_for(&s.store, b.org_id.as_deref()).await?;
    check_settings(&s, &caller, &org, &b.settings).await?;
    let seal = |which: ProvisioningSecret,
                change: &Option<Option<String>>|
     -> ApiResult<Option<Option<String>>> {
        Ok(match change {
            None => None,
            Some(value) => match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                None => Some(None),
                Some(secret) => Some(Some(
                    crate::secrets::secret_box(&s)?
                        .seal(secret.as_bytes(), &secret_owner(&org, which)),
                )),
            },
        })
    };
    let secrets = SealedSecretUpdates {
        run_task_key: seal(ProvisioningSecret::RunTaskKey, &b.run_task_key)?,
        notification_token: seal(ProvisioningSecret::NotificationToken, &b.notification_token)?,
        terraform_token: seal(ProvisioningSecret::TerraformToken, &b.terraform_token)?,
    };
    let stored = s
        .store
        .put_compliance_settings(
            &caller.scope,
            &org,
            &b.settings,
            &secrets,
            &caller.user.username,
            bulwark_store::now(),
        )
        .await?;
    let st = &stored.settings;
    let changed: Vec<&str> = [
        ("run task key", &b.run_task_key),
        ("notification token", &b.notification_token),
        ("Terraform API token", &b.terraform_token),
    ]
    .into_iter()
    .filter(|(_, c)| c.is_some())
    .map(|(name, _)| name)
    .collect();
    let mut detail = format!(
        "compliance settings: scanning {}, {} mode, {}, minimum {}, block on critical {}, block on high {}",
        if st.enabled { "on" } else { "off" },
        st.enforcement_mode,
        st.profile.label(),
        st.min_score,
        st.block_on_critical,
        st.block_on_high
    );
    if !changed.is_empty() {
        detail.push_str(&format!("; secrets changed: {}", changed.join(", ")));
    }
    Ok((
        Extension(Note::new(&org, detail)),
        Json(settings_answer(&org, Some(stored))),
    )
        .into_response())
}

#[derive(Serialize, JsonSchema)]
pub struct OverviewAnswer {
    pub overview: ProvisioningOverview,
    /// The 20 most recent provisioned machines.
    pub recent: Vec<ProvisionedVm>,
}

pub async fn overview(
    State(s): State<AppState>,
    caller: Caller,
    Params(q): Params<OrgQuery>,
) -> ApiResult<Json<OverviewAnswer>> {
    let overview = s
        .store
        .provisioning_overview(&caller.scope, q.org_id.as_deref())
        .await?;
    let recent = s
        .store
        .list_provisioned_vms(
            &caller.scope,
            &ProvisionedVmFilter {
                org_id: q.org_id.clone(),
                limit: Some(20),
                ..Default::default()
            },
        )
        .await?;
    Ok(Json(OverviewAnswer { overview, recent }))
}

pub async fn list_vms(
    State(s): State<AppState>,
    caller: Caller,
    Params(f): Params<ProvisionedVmFilter>,
) -> ApiResult<Json<Vec<ProvisionedVm>>> {
    Ok(Json(s.store.list_provisioned_vms(&caller.scope, &f).await?))
}

pub async fn get_vm(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ProvisionedVm>> {
    Ok(Json(s.store.get_provisioned_vm(&caller.scope, &id).await?))
}

/// Whether a pipeline may hand the machine over now.
#[derive(Serialize, JsonSchema)]
pub struct Handover {
    pub allowed: bool,
    /// Still being scanned: ask again.
    pub pending: bool,
    pub status: ProvisionStatus,
    pub blocked: bool,
    pub reason: Option<String>,
    pub score: Option<f64>,
    pub released_by: Option<String>,
    pub released_at: Option<i64>,
}

impl Handover {
    pub fn of(vm: &ProvisionedVm) -> Handover {
        Handover {
            allowed: vm.handover_allowed(),
            pending: !vm.status.is_final(),
            status: vm.status,
            blocked: vm.held(),
            reason: vm.block_reason.clone().or_else(|| vm.failure.clone()),
            score: vm.score,
            released_by: vm.released_by.clone(),
            released_at: vm.released_at,
        }
    }
}

pub async fn handover(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Handover>> {
    let vm = s.store.get_provisioned_vm(&caller.scope, &id).await?;
    Ok(Json(Handover::of(&vm)))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    /// Why the machine may be handed over although it failed; kept with the release.
    pub reason: String,
}

pub async fn release(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<ReleaseBody>,
) -> ApiResult<Response> {
    let reason = b.reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid(
            "reason",
            "say why the machine may be handed over",
        ));
    }
    let vm = s
        .store
        .release_provisioned_vm(
            &caller.scope,
            &id,
            &caller.user.username,
            reason,
            bulwark_store::now(),
        )
        .await?;
    s.provisioning_wake.notify_one();
    let note = Note::new(
        &vm.org_id,
        format!(
            "released the handover of {} ({}), blocked for: {}; reason: {reason}",
            vm.hostname,
            vm.address,
            vm.block_reason.as_deref().unwrap_or("?")
        ),
    );
    Ok((Extension(note), Json(vm)).into_response())
}

pub async fn vm_report(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Params(q): Params<super::report::ReportQuery>,
) -> ApiResult<Response> {
    let vm = s.store.get_provisioned_vm(&caller.scope, &id).await?;
    let scan = vm.scan_id.ok_or_else(|| {
        AppError::Conflict(format!(
            "{} has no scan{}",
            vm.hostname,
            vm.failure.map(|f| format!(": {f}")).unwrap_or_default()
        ))
    })?;
    super::report::render(&s, &caller.scope, &scan, q.format).await
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    pub org_id: Option<String>,
    /// Names the provisioning run; a machine is recorded once per run and address.
    pub run_id: String,
    #[serde(default)]
    pub provider: Option<VmProvider>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub workspace: Option<String>,
    pub machines: Vec<MachineEntry>,
}

pub async fn submit(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<SubmitBody>,
) -> ApiResult<Response> {
    let org = caller.org_for(&s.store, b.org_id.as_deref()).await?;
    let run_id = b.run_id.trim();
    if run_id.is_empty() {
        return Err(AppError::invalid("run_id", "name the provisioning run"));
    }
    gate::check_entries("machines", &b.machines)?;
    let run = RunContext {
        workspace: b.workspace.clone(),
        project: b.project.clone(),
        run_id: run_id.to_owned(),
        provider: b.provider,
        ..Default::default()
    };
    let vms = gate::intake(&s, &org, ProvisionSource::Api, &run, &b.machines).await?;
    let note = Note::new(
        &org,
        format!(
            "provisioning run {run_id}: {} machine(s) recorded ({})",
            vms.len(),
            vms.iter()
                .map(|v| v.address.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    Ok((Extension(note), Json(vms)).into_response())
}

/// Terraform's deliveries are refused with one answer whatever was wrong (unknown
/// organization, no key configured, a bad signature), so that nothing is learnt from it.
fn unsigned() -> AppError {
    AppError::Unauthorized("the delivery's signature does not verify".into())
}

/// Verifies a delivery's signature with the organization's sealed secret.
async fn verify(
    s: &AppState,
    org_id: &str,
    which: ProvisioningSecret,
    headers: &HeaderMap,
    header: &str,
    body: &[u8],
) -> ApiResult<()> {
    let signature = headers
        .get(header)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unsigned)?;
    let sealed = s
        .store
        .sealed_provisioning_secret(org_id, which)
        .await?
        .ok_or_else(unsigned)?;
    let key = crate::secrets::open_string(s, &sealed, &secret_owner(org_id, which))?;
    match terraform::signature_matches(key.as_bytes(), body, signature) {
        true => Ok(()),
        false => Err(unsigned()),
    }
}

/// What a Terraform delivery was answered.
#[derive(Serialize, JsonSchema)]
pub struct Delivery {
    /// `accepted`, `replayed` (already received; nothing done twice) or `ignored`.
    pub outcome: String,
    pub detail: String,
}

fn delivered(org_id: &str, outcome: &str, detail: String) -> Response {
    let note = Note {
        org_id: Some(org_id.to_owned()),
        detail: format!("{outcome}: {detail}"),
    };
    (
        Extension(note),
        Json(Delivery {
            outcome: outcome.into(),
            detail,
        }),
    )
        .into_response()
}

pub async fn run_task(
    State(s): State<AppState>,
    Path(org_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    verify(
        &s,
        &org_id,
        ProvisioningSecret::RunTaskKey,
        &headers,
        RUN_TASK_SIGNATURE,
        &body,
    )
    .await?;
    let request: RunTaskRequest = parse_json(&body)?;
    if request.payload_version != 1 {
        return Err(AppError::invalid(
            "payload_version",
            format!(
                "payload version {} is not supported (1 is)",
                request.payload_version
            ),
        ));
    }
    if request.stage != terraform::POST_APPLY || request.is_speculative {
        // Terraform checks the URL with a test delivery when the task is created; earlier
        // stages have no machines yet.
        return Ok(delivered(
            &org_id,
            "ignored",
            format!(
                "run task stage {} of run {}: machines are scanned after apply",
                request.stage, request.run_id
            ),
        ));
    }
    let settings = gate::settings_of(&s, &org_id).await?;
    let callback = terraform::check_terraform_url(&settings, &request.task_result_callback_url)
        .map_err(|e| AppError::invalid("task_result_callback_url", e))?;
    let workspace_id = request
        .workspace_id
        .clone()
        .filter(|w| !w.is_empty())
        .ok_or_else(|| AppError::invalid("workspace_id", "the run task names no workspace"))?;
    let sealed_token = crate::secrets::secret_box(&s)?.seal(
        request.access_token.as_bytes(),
        &gate::reconcile::run_task_token_context(&org_id, &request.task_result_id),
    );
    let (task, new) = s
        .store
        .record_run_task(
            &Scope::All,
            &bulwark_store::NewRunTask {
                org_id: org_id.clone(),
                task_result_id: request.task_result_id.clone(),
                run_id: request.run_id.clone(),
                workspace: request.workspace_name.clone(),
                callback_url: callback.to_string(),
                sealed_access_token: sealed_token,
                received_at: bulwark_store::now(),
            },
        )
        .await?;
    if !new {
        return Ok(delivered(
            &org_id,
            "replayed",
            format!(
                "run task {} of run {} was already received",
                request.task_result_id, request.run_id
            ),
        ));
    }
    let state = s.clone();
    let org = org_id.clone();
    let token = request.access_token.clone();
    let accepted = format!(
        "run task of run {} in workspace {}",
        task.run_id,
        task.workspace.as_deref().unwrap_or("?")
    );
    tokio::spawn(async move {
        let run = RunContext {
            tf_organization: request.organization_name.clone(),
            workspace: request.workspace_name.clone(),
            run_id: request.run_id.clone(),
            run_task_id: Some(task.id.clone()),
            ..Default::default()
        };
        let found = read_machines(&state, &org, &callback, &workspace_id, Some(&token)).await;
        settle_delivery(
            &state,
            &org,
            ProvisionSource::TerraformRunTask,
            &run,
            found,
            Some(&task),
        )
        .await;
    });
    s.provisioning_wake.notify_one();
    Ok(delivered(&org_id, "accepted", accepted))
}

/// The run's machines, read with the organization's Terraform token or the run's own.
async fn read_machines(
    s: &AppState,
    org_id: &str,
    origin: &reqwest::Url,
    workspace_id: &str,
    run_token: Option<&str>,
) -> Result<Vec<MachineEntry>, String> {
    let settings = gate::settings_of(s, org_id)
        .await
        .map_err(|e| e.to_string())?;
    let configured = match s
        .store
        .sealed_provisioning_secret(org_id, ProvisioningSecret::TerraformToken)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(sealed) => Some(
            crate::secrets::open_string(
                s,
                &sealed,
                &secret_owner(org_id, ProvisioningSecret::TerraformToken),
            )
            .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let token = configured.as_deref().or(run_token).ok_or(
        "no Terraform API token is configured to read the workspace's outputs with (notifications carry none)",
    )?;
    let client = crate::outbound::client(terraform::callback_policy(&settings));
    let machines = terraform::workspace_machines(&client, origin, workspace_id, token).await?;
    gate::check_entries(terraform::MACHINES_OUTPUT, &machines).map_err(|e| e.to_string())?;
    Ok(machines)
}

/// Records what a Terraform delivery's run created, or — when its machines could not be
/// read — says so on the run task (its callback then fails with the reason).
async fn settle_delivery(
    s: &AppState,
    org_id: &str,
    source: ProvisionSource,
    run: &RunContext,
    found: Result<Vec<MachineEntry>, String>,
    task: Option<&bulwark_store::RunTask>,
) {
    let outcome = match found {
        Ok(machines) => gate::intake(s, org_id, source, run, &machines)
            .await
            .map(|vms| vms.len())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    match (&outcome, task) {
        (Ok(count), Some(task)) => {
            if let Err(e) = s.store.run_task_machines(&task.id, *count as i64).await {
                tracing::error!(run_task = %task.id, error = %e, "cannot record the run's machines");
            }
        }
        (Err(reason), Some(task)) => {
            tracing::warn!(run_task = %task.id, reason = %reason, "the run's machines cannot be read");
            let result = terraform::TaskResult {
                status: terraform::CallbackStatus::Failed,
                message: format!("Bulwark could not read the machines of this run: {reason}"),
                url: None,
            };
            let sent = gate::reconcile::send(s, task, &result)
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            let report = bulwark_store::RunTaskReport {
                sent: sent.is_ok().then(|| "failed".to_owned()),
                message: Some(result.message),
                error: sent.err(),
                done: true,
                at: bulwark_store::now(),
            };
            if let Err(e) = s.store.run_task_reported(&task.id, &report).await {
                tracing::error!(run_task = %task.id, error = %e, "cannot record the run task's failure");
            }
        }
        (Err(reason), None) => {
            tracing::warn!(org = %org_id, run = %run.run_id, reason = %reason, "the run's machines cannot be read");
            let entry = bulwark_store::AuditEntry {
                id: bulwark_store::new_id(),
                at: bulwark_store::now(),
                org_id: org_id.to_owned(),
                actor: "terraform".into(),
                actor_id: None,
                action: "provisioning.read_machines".into(),
                target: Some(run.run_id.clone()),
                outcome: bulwark_store::AuditOutcome::Failed,
                detail: Some(reason.clone()),
                source_ip: None,
            };
            crate::audit::write(s, &entry).await;
        }
        (Ok(_), None) => {}
    }
    s.provisioning_wake.notify_one();
}

pub async fn notification(
    State(s): State<AppState>,
    Path(org_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    verify(
        &s,
        &org_id,
        ProvisioningSecret::NotificationToken,
        &headers,
        NOTIFICATION_SIGNATURE,
        &body,
    )
    .await?;
    let request: NotificationRequest = parse_json(&body)?;
    if request.payload_version != 1 {
        return Err(AppError::invalid(
            "payload_version",
            format!(
                "payload version {} is not supported (1 is)",
                request.payload_version
            ),
        ));
    }
    if !request.applied() {
        let triggers: Vec<&str> = request
            .notifications
            .iter()
            .map(|n| n.trigger.as_str())
            .collect();
        return Ok(delivered(
            &org_id,
            "ignored",
            format!(
                "notification {} : only completed applies (run:completed, applied) are scanned",
                triggers.join(", ")
            ),
        ));
    }
    let run_id = request
        .run_id
        .clone()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| AppError::invalid("run_id", "the notification names no run"))?;
    let workspace_id = request
        .workspace_id
        .clone()
        .filter(|w| !w.is_empty())
        .ok_or_else(|| AppError::invalid("workspace_id", "the notification names no workspace"))?;
    let run_url = request
        .run_url
        .clone()
        .ok_or_else(|| AppError::invalid("run_url", "the notification names no run URL"))?;
    let settings = gate::settings_of(&s, &org_id).await?;
    let origin = terraform::check_terraform_url(&settings, &run_url)
        .map_err(|e| AppError::invalid("run_url", e))?;
    let existing = s
        .store
        .list_provisioned_vms(
            &Scope::All,
            &ProvisionedVmFilter {
                org_id: Some(org_id.clone()),
                limit: Some(500),
                ..Default::default()
            },
        )
        .await?;
    if existing.iter().any(|v| v.run_id == run_id) {
        return Ok(delivered(
            &org_id,
            "replayed",
            format!("run {run_id} was already received"),
        ));
    }
    let state = s.clone();
    let org = org_id.clone();
    let run = RunContext {
        tf_organization: request.organization_name.clone(),
        workspace: request.workspace_name.clone(),
        run_id: run_id.clone(),
        ..Default::default()
    };
    tokio::spawn(async move {
        let found = read_machines(&state, &org, &origin, &workspace_id, None).await;
        settle_delivery(
            &state,
            &org,
            ProvisionSource::TerraformNotification,
            &run,
            found,
            None,
        )
        .await;
    });
    Ok(delivered(
        &org_id,
        "accepted",
        format!("completed apply of run {run_id}"),
    ))
}
