//! Agentless hosts over the API: named SSH credentials (stored sealed, never answered back),
//! registering a host by its connection, Check and Detect OS, and approving the host key it
//! offered.

use axum::Json;
use axum::extract::{Path, State};
use bulwark_store::{
    Escalation, Host, NewSshCredential, NewSshHost, SshCredential, SshCredentialKind, SshTarget,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::answers::Deleted;
use crate::AppState;
use crate::agentless::SshCheckReport;
use crate::agentless::connect::{CredentialSecret, sealed_for};
use crate::auth::Caller;
use crate::body::Body;
use crate::error::{ApiResult, AppError, FieldError};

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialBody {
    pub org_id: Option<String>,
    pub name: String,
    pub kind: SshCredentialKind,
    /// `private_key`: the key in OpenSSH (or PEM) form; omit it and set `generate` to have
    /// the server make an Ed25519 key and answer its public key.
    pub private_key: Option<String>,
    pub passphrase: Option<String>,
    #[serde(default)]
    pub generate: bool,
    /// `password`: the login password.
    pub password: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct CredentialCreated {
    pub credential: SshCredential,
    /// For keys: the line to add to `~/.ssh/authorized_keys` of the login user on each host.
    pub public_key: Option<String>,
}

fn secret_of(b: &CredentialBody) -> ApiResult<CredentialSecret> {
    let mut problems = Vec::new();
    let mut problem = |field: &str, message: &str| {
        problems.push(FieldError {
            field: field.into(),
            message: message.into(),
        })
    };
    let secret = match b.kind {
        SshCredentialKind::PrivateKey => {
            if b.password.is_some() {
                problem("password", "a private_key credential takes no password");
            }
            match (&b.private_key, b.generate) {
                (Some(_), true) => {
                    problem(
                        "generate",
                        "give a private_key or ask to generate one, not both",
                    );
                    None
                }
                (None, false) => {
                    problem(
                        "private_key",
                        "give the private key, or set generate to have the server make one",
                    );
                    None
                }
                (Some(pem), false) => Some(CredentialSecret::PrivateKey {
                    pem: pem.clone(),
                    passphrase: b.passphrase.clone().filter(|p| !p.is_empty()),
                }),
                (None, true) => {
                    let pair = bulwark_ssh::generate_ed25519(&format!("bulwark {}", b.name.trim()))
                        .map_err(|e| AppError::Internal(e.to_string()))?;
                    Some(CredentialSecret::PrivateKey {
                        pem: pair.private_pem,
                        passphrase: None,
                    })
                }
            }
        }
        SshCredentialKind::Password => {
            if b.private_key.is_some() || b.generate || b.passphrase.is_some() {
                problem("private_key", "a password credential takes no key");
            }
            match &b.password {
                Some(p) if !p.is_empty() => Some(CredentialSecret::Password {
                    password: p.clone(),
                }),
                _ => {
                    problem("password", "give the login password");
                    None
                }
            }
        }
    };
    if b.name.trim().is_empty() {
        problem("name", "name must not be empty");
    }
    match secret {
        Some(secret) if problems.is_empty() => Ok(secret),
        _ => Err(AppError::Invalid(problems)),
    }
}

pub async fn create_credential(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<CredentialBody>,
) -> ApiResult<Json<CredentialCreated>> {
    let org = caller.org_for(&s.store, b.org_id.as_deref()).await?;
    let secret = secret_of(&b)?;
    let secrets = s.config.secrets.as_ref().ok_or_else(|| {
        AppError::Conflict(
            "this server has no secret key to seal credentials with: set BULWARK_SECRET_KEY_FILE (the same file on every replica)".into(),
        )
    })?;
    let public_key = bulwark_ssh::public_key_line(&secret.auth())
        .map_err(|e| AppError::invalid("private_key", e.to_string()))?;
    let name = b.name.trim().to_string();
    let plain = serde_json::to_vec(&secret).map_err(|e| AppError::Internal(e.to_string()))?;
    let credential = s
        .store
        .create_ssh_credential(
            &caller.scope,
            &NewSshCredential {
                org_id: org.clone(),
                kind: b.kind,
                sealed_secret: secrets.seal(&plain, &sealed_for(&org, &name)),
                public_key: public_key.clone(),
                name,
            },
        )
        .await?;
    tracing::info!(user = %caller.user.username, credential = %credential.id, org = %org, "SSH credential created");
    Ok(Json(CredentialCreated {
        credential,
        public_key,
    }))
}

pub async fn list_credentials(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<SshCredential>>> {
    Ok(Json(s.store.list_ssh_credentials(&caller.scope).await?))
}

pub async fn delete_credential(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Deleted>> {
    s.store.delete_ssh_credential(&caller.scope, &id).await?;
    tracing::info!(user = %caller.user.username, credential = %id, "SSH credential deleted");
    Ok(Json(Deleted { deleted: id }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionBody {
    /// A host name or IP address.
    pub address: String,
    #[serde(default = "default_port")]
    pub port: u16,
    pub username: String,
    pub credential_id: String,
    #[serde(default = "default_escalation")]
    pub escalation: Escalation,
    /// The host's key, if known: its `SHA256:` fingerprint or public key line. Given here, it
    /// counts as approved; otherwise the first Check records what the host offers.
    pub host_key: Option<String>,
}

fn default_port() -> u16 {
    22
}

fn default_escalation() -> Escalation {
    Escalation::Sudo
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostBody {
    pub org_id: Option<String>,
    pub hostname: String,
    /// How the server reaches the host; agent hosts enroll themselves instead.
    pub connection: ConnectionBody,
}

pub async fn create_host(
    State(s): State<AppState>,
    caller: Caller,
    Body(b): Body<HostBody>,
) -> ApiResult<Json<Host>> {
    let org = caller.org_for(&s.store, b.org_id.as_deref()).await?;
    let c = &b.connection;
    let mut problems = Vec::new();
    let mut problem = |field: &str, message: String| {
        problems.push(FieldError {
            field: field.into(),
            message,
        })
    };
    if b.hostname.trim().is_empty() {
        problem("hostname", "hostname must not be empty".into());
    }
    let address = c.address.trim();
    if address.is_empty()
        || address.starts_with('-')
        || address.contains(|ch: char| ch.is_whitespace() || ch.is_control() || ch == '@')
    {
        problem(
            "connection.address",
            format!("{address:?} is not a host name or IP address"),
        );
    }
    if c.port == 0 {
        problem("connection.port", "port must be 1-65535".into());
    }
    let user = c.username.trim();
    if user.is_empty()
        || user.starts_with('-')
        || user.contains(|ch: char| ch.is_whitespace() || ch.is_control())
    {
        problem(
            "connection.username",
            format!("{user:?} is not a user name"),
        );
    }
    let host_key = c
        .host_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    if let Some(key) = host_key
        && let Err(e) = bulwark_ssh::HostKeyPolicy::Pinned(key.into()).validate()
    {
        problem("connection.host_key", e.to_string());
    }
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems));
    }
    let host = s
        .store
        .create_ssh_host(
            &caller.scope,
            &NewSshHost {
                org_id: org,
                hostname: b.hostname.trim().into(),
                address: address.into(),
                port: c.port,
                username: user.into(),
                credential_id: c.credential_id.clone(),
                escalation: c.escalation,
                host_key: host_key.map(Into::into),
            },
        )
        .await
        .map_err(|e| match e {
            bulwark_store::StoreError::NotFound(_) => AppError::invalid(
                "connection.credential_id",
                "no such SSH credential in this organization",
            ),
            other => other.into(),
        })?;
    tracing::info!(user = %caller.user.username, host = %host.id, "agentless host registered");
    Ok(Json(host))
}

pub async fn target(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SshTarget>> {
    Ok(Json(s.store.ssh_target(&caller.scope, &id).await?))
}

pub async fn check(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SshCheckReport>> {
    s.store.ssh_target(&caller.scope, &id).await?;
    Ok(Json(crate::agentless::check_host(&s, &id).await?))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// The fingerprint the host offered (as the last Check showed it).
    pub fingerprint: String,
}

pub async fn approve_key(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Body(b): Body<ApproveBody>,
) -> ApiResult<Json<SshTarget>> {
    let target = s
        .store
        .approve_host_key(&caller.scope, &id, b.fingerprint.trim())
        .await?;
    tracing::info!(user = %caller.user.username, host = %id, key = %b.fingerprint.trim(), "host key approved");
    Ok(Json(target))
}
