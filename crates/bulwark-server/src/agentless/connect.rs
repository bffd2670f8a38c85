//! Opening an SSH session to an agentless host: the credential unsealed, the host key pinned
//! (or its first offer recorded), and every failure turned into words a person can act on.

use bulwark_ssh::{Auth, HostKeyPolicy, Session, SshError, Target};
use bulwark_store::SshTarget;
use serde::{Deserialize, Serialize};

use crate::AppState;

/// What a sealed credential holds.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum CredentialSecret {
    PrivateKey {
        pem: String,
        passphrase: Option<String>,
    },
    Password {
        password: String,
    },
}

impl CredentialSecret {
    pub(crate) fn auth(&self) -> Auth {
        match self {
            CredentialSecret::PrivateKey { pem, passphrase } => Auth::PrivateKey {
                pem: pem.clone(),
                passphrase: passphrase.clone(),
            },
            CredentialSecret::Password { password } => Auth::Password(password.clone()),
        }
    }
}

/// The record a credential's sealed secret belongs to: the secret opens only there.
pub(crate) fn sealed_for(org_id: &str, name: &str) -> String {
    format!("ssh-credential:{org_id}:{name}")
}

/// Why no session could be had.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub message: String,
    /// The key the host offered, when it is not the approved one (first contact or change).
    pub offered_key: Option<String>,
}

impl From<String> for Refusal {
    fn from(message: String) -> Self {
        Refusal {
            message,
            offered_key: None,
        }
    }
}

/// Connects to the host as its target says. Without an approved key the host's offer is
/// reported and nothing runs.
pub(crate) async fn open(state: &AppState, target: &SshTarget) -> Result<Session, Refusal> {
    let secrets = state.config.secrets.as_ref().ok_or_else(|| {
        "this server has no secret key to open SSH credentials with (set BULWARK_SECRET_KEY_FILE)"
            .to_string()
    })?;
    let (credential, sealed) = state
        .store
        .sealed_ssh_secret(&target.credential_id)
        .await
        .map_err(|e| format!("the host's credential: {e}"))?;
    let plain = secrets
        .open(&sealed, &sealed_for(&credential.org_id, &credential.name))
        .map_err(|e| format!("credential {:?}: {e}", credential.name))?;
    let secret: CredentialSecret = serde_json::from_slice(&plain)
        .map_err(|_| format!("credential {:?} is damaged", credential.name))?;
    let policy = match &target.host_key {
        Some(pin) => HostKeyPolicy::Pinned(pin.clone()),
        None => HostKeyPolicy::FirstContact,
    };
    let port =
        u16::try_from(target.port).map_err(|_| format!("port {} is out of range", target.port))?;
    let ssh_target = Target {
        address: target.address.clone(),
        port,
        user: target.username.clone(),
    };
    Session::connect(
        &ssh_target,
        &secret.auth(),
        &policy,
        state.config.agentless.timeouts,
    )
    .await
    .map_err(|e| match e {
        SshError::HostKeyPending { fingerprint, .. } => Refusal {
            message: format!(
                "host key pending: the host offered {fingerprint}; compare it with the host's own key (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and approve it"
            ),
            offered_key: Some(fingerprint),
        },
        SshError::HostKeyChanged {
            expected, offered, ..
        } => Refusal {
            message: format!(
                "host key changed: approved {expected}, offered {offered}; if the host was reinstalled or its keys rotated, approve the new key, otherwise the connection may be intercepted"
            ),
            offered_key: Some(offered),
        },
        other => Refusal::from(other.to_string()),
    })
}
