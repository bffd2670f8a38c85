//! The audit log: every state-changing request (every method but GET) is recorded after it
//! is answered, by the same layer that checks its permission, so an endpoint cannot forget
//! to; refused attempts are recorded too (`denied`). Logins and failed logins are recorded
//! where they are decided. A handler may say more about what it did with a [`Note`] on its
//! response (the organization it acted in, the action in words); errors add their message.
//! Nothing in an entry is a secret: bodies are never copied, only the notes handlers write.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use bulwark_store::{AuditEntry, AuditOutcome, Scope};

use crate::AppState;
use crate::auth::Caller;

/// The actor of deliveries signed with an organization's secret (Terraform's).
pub const SIGNED_SENDER: &str = "terraform";

/// What a handler adds to the audit entry of its request.
#[derive(Debug, Clone, Default)]
pub struct Note {
    /// The organization the action was in, when the caller may see several.
    pub org_id: Option<String>,
    /// The action in words, e.g. "restart service nginx on web-1".
    pub detail: String,
}

impl Note {
    pub fn new(org_id: &str, detail: impl Into<String>) -> Self {
        Note {
            org_id: Some(org_id.to_owned()),
            detail: detail.into(),
        }
    }
}

/// An error's message, kept on the response so that the audit entry says why it failed.
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub String);

/// Where a request came from: the connection's peer address.
pub fn source_ip(extensions: &axum::http::Extensions) -> Option<String> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

pub fn outcome_of(status: StatusCode) -> AuditOutcome {
    match status.as_u16() {
        200..=399 => AuditOutcome::Success,
        401 | 403 => AuditOutcome::Denied,
        _ => AuditOutcome::Failed,
    }
}

/// The organization an entry belongs to: the handler's, else the caller's only one, else
/// none (account-wide).
fn org_of(note: Option<&Note>, caller: Option<&Caller>) -> String {
    if let Some(org) = note.and_then(|n| n.org_id.clone()) {
        return org;
    }
    match caller.map(|c| &c.scope) {
        Some(Scope::Orgs(orgs)) if orgs.len() == 1 => orgs[0].clone(),
        _ => String::new(),
    }
}

/// Who: the user, marked when it came with an API token rather than a session.
pub fn actor_of(caller: &Caller, by_token: bool) -> String {
    match by_token {
        true => format!("token:{}", caller.user.username),
        false => caller.user.username.clone(),
    }
}

/// One answered request, as the permission layers saw it.
pub struct Request<'a> {
    pub method: &'a Method,
    /// The route as declared (`/api/v1/hosts/{id}/jobs`).
    pub route: &'a str,
    /// The path as requested, which names the object.
    pub path: &'a str,
    pub caller: Option<&'a Caller>,
    pub by_token: bool,
    pub source_ip: Option<String>,
}

/// The entry for an answered request; reads (GET, HEAD) have none. Built apart from the
/// write: a response body is not `Sync`, so no reference to a response may be held across
/// an await.
pub fn entry(request: Request<'_>, response: &Response) -> Option<AuditEntry> {
    if request.method == Method::GET || request.method == Method::HEAD {
        return None;
    }
    let note = response.extensions().get::<Note>();
    let error = response.extensions().get::<ErrorMessage>();
    let detail = match (note, error) {
        (Some(n), Some(e)) => Some(format!("{}: {}", n.detail, e.0)),
        (Some(n), None) => Some(n.detail.clone()),
        (None, Some(e)) => Some(e.0.clone()),
        (None, None) => None,
    };
    let entry = AuditEntry {
        id: bulwark_store::new_id(),
        at: bulwark_store::now(),
        org_id: org_of(note, request.caller),
        actor: request
            .caller
            .map_or_else(|| "anonymous".to_owned(), |c| actor_of(c, request.by_token)),
        actor_id: request.caller.map(|c| c.user.id.clone()),
        action: format!("{} {}", request.method, request.route),
        target: Some(request.path.to_owned()),
        outcome: outcome_of(response.status()),
        detail,
        source_ip: request.source_ip,
    };
    Some(entry)
}

/// Appends an entry. An entry that cannot be written is logged as an error (with what it
/// said), since the action it records has already happened.
pub async fn write(state: &AppState, entry: &AuditEntry) {
    if let Err(e) = state.store.append_audit(entry).await {
        tracing::error!(error = %e, action = %entry.action, actor = %entry.actor, outcome = %entry.outcome, "cannot write the audit log");
    }
}

/// A login attempt: `user` is the account when the password matched.
pub async fn login(
    state: &AppState,
    username: &str,
    user: Option<&bulwark_store::User>,
    source: &str,
    detail: Option<String>,
) {
    let org_id = match user.map(|u| u.scope()) {
        Some(Scope::Orgs(orgs)) if orgs.len() == 1 => orgs[0].clone(),
        _ => String::new(),
    };
    let entry = AuditEntry {
        id: bulwark_store::new_id(),
        at: bulwark_store::now(),
        org_id,
        actor: user.map_or_else(|| "anonymous".to_owned(), |u| u.username.clone()),
        actor_id: user.map(|u| u.id.clone()),
        action: "auth.login".into(),
        target: Some(username.chars().take(64).collect()),
        outcome: match user {
            Some(_) => AuditOutcome::Success,
            None => AuditOutcome::Denied,
        },
        detail,
        source_ip: Some(source.to_owned()),
    };
    write(state, &entry).await;
}
