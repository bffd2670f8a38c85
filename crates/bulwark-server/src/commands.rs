//! Checks that run commands are code that every agent of an organization would run as root,
//! so they are held to the rules of script jobs: only a role that may run scripts (admin,
//! `settings.manage`) writes them, and only while the organization's `script_execution` flag
//! is on; jobs carry them only while the flag is on, and an agent runs them only when its
//! owner opted in (`allow_commands`). Shipped content has none.

use bulwark_core::{Check, Permission};
use bulwark_store::{Scope, Store, TemplateSummary};

use crate::auth::Caller;
use crate::error::{ApiResult, AppError};

/// The organization flag (a heartbeat feature) that lets command checks run.
pub const FEATURE: &str = "script_execution";

/// Why a command check has no result when its organization's flag is off.
pub const HELD_BACK: &str = "not sent to the agent: command checks run only while the organization's script_execution flag is on";

/// Whether the organization's flag lets command checks run (the account-wide flag, then the
/// organization's own; on unless switched off, like every feature flag).
pub async fn enabled_for(store: &dyn Store, org_id: &str) -> ApiResult<bool> {
    Ok(store
        .feature_flags_for(org_id)
        .await?
        .into_iter()
        .rfind(|f| f.feature == FEATURE)
        .is_none_or(|f| f.enabled))
}

/// Refuses to store `check` in `template` when it runs commands and the caller may not
/// write code for the template's organization.
pub async fn may_write(
    store: &dyn Store,
    caller: &Caller,
    template: &TemplateSummary,
    check: &Check,
) -> ApiResult<()> {
    if !check.runs_commands() {
        return Ok(());
    }
    if !caller.user.role.can(Permission::SettingsManage) {
        return Err(AppError::Forbidden(format!(
            "check {} runs a command, which every agent of the organization would execute; only an admin may add or change command checks",
            check.id
        )));
    }
    let org = template.org_id.as_deref().unwrap_or_default();
    if !enabled_for(store, org).await? {
        return Err(AppError::Forbidden(format!(
            "check {} runs a command, and script execution is switched off for this organization (feature {FEATURE})",
            check.id
        )));
    }
    Ok(())
}

/// Logs every stored custom check that runs commands, so that content written before these
/// rules (or straight into the database) is seen at start, not silently run.
pub async fn flag_existing(store: &dyn Store) -> ApiResult<usize> {
    let mut found = 0;
    for template in store
        .list_templates(&Scope::All, &Default::default())
        .await?
    {
        if template.is_system {
            continue;
        }
        for c in store.template_checks(&Scope::All, &template.id).await? {
            if c.check.runs_commands() {
                found += 1;
                tracing::warn!(
                    template = %template.id,
                    org = template.org_id.as_deref().unwrap_or_default(),
                    check = %c.check.id,
                    enabled = c.enabled,
                    "custom check runs a command: it runs only where the organization's script_execution flag is on and the agent has allow_commands = true"
                );
            }
        }
    }
    Ok(found)
}
