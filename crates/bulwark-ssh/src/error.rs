//! The one error type of the crate. Each message names what happened and, where there is
//! one, what a person can do about it; none carries a secret.

use std::fmt;
use std::time::Duration;

/// Which authentication the server refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    PublicKey,
    Password,
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthMethod::PublicKey => "public key",
            AuthMethod::Password => "password",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// No TCP connection: the name does not resolve, nothing listens, or a firewall drops it.
    #[error("cannot reach {address}: {source}")]
    Unreachable {
        address: String,
        #[source]
        source: std::io::Error,
    },

    /// Connecting, the key exchange and authentication together took longer than allowed.
    #[error(
        "{address} did not complete the SSH handshake and login within {after:?} \
         (is it an SSH server, and is the network slow or filtering?)"
    )]
    TimedOut { address: String, after: Duration },

    /// First contact: the host offered this key and nobody has approved it yet. Store it as
    /// pending; connect with `HostKeyPolicy::Pinned` once an administrator approves it.
    #[error(
        "the host key of {address} is not approved yet: it offered {fingerprint}; \
         compare it with the host's own key (ssh-keygen -lf) and approve it to scan"
    )]
    HostKeyPending {
        address: String,
        /// OpenSSH's form, `SHA256:` and unpadded base64, as `ssh-keygen -lf` prints it.
        fingerprint: String,
        /// The key as an OpenSSH public key line (`ssh-ed25519 AAAA…`), the value to pin.
        key: String,
    },

    /// The host offered another key than the pinned one.
    #[error(
        "the host key of {address} changed: expected {expected}, offered {offered}; \
         if the host was reinstalled or its keys rotated, approve the new key, \
         otherwise the connection may be intercepted"
    )]
    HostKeyChanged {
        address: String,
        /// The pinned key's fingerprint.
        expected: String,
        /// The offered key's fingerprint.
        offered: String,
        /// The offered key as an OpenSSH public key line, should an administrator approve it.
        offered_key: String,
    },

    /// `HostKeyPolicy::Pinned` holds neither a public key line nor a fingerprint.
    #[error("the pinned host key is not usable: {reason}")]
    InvalidPin { reason: String },

    /// The server refused the credentials (or wants more than one method).
    #[error(
        "{address} refused {method} authentication for user {user:?}{}",
        accepted_methods(.accepted)
    )]
    AuthRefused {
        address: String,
        user: String,
        method: AuthMethod,
        /// The methods the server said it would still accept, as it named them.
        accepted: Vec<String>,
    },

    /// The private key could not be read or decrypted; the message never repeats it.
    #[error("the private key cannot be used: {reason}")]
    InvalidKey { reason: String },

    /// The argv cannot become a command line (empty, or a NUL byte that no shell can take).
    #[error("invalid command: {reason}")]
    InvalidCommand { reason: String },

    /// The server would not start the command (for example a `ForceCommand` or a policy).
    #[error("{address} refused to run the command")]
    CommandRefused { address: String },

    /// The command ran past its deadline: its process group was sent SIGKILL (best effort,
    /// within a grace time) and its channel was closed.
    #[error("the command did not finish within its deadline of {deadline:?}; it was killed")]
    DeadlineExceeded { deadline: Duration },

    /// The connection ended while a command was running or before it could start.
    #[error("the SSH connection to {address} was closed")]
    Disconnected { address: String },

    /// Anything else the SSH protocol layer reports (no common algorithm, a bad signature…).
    #[error("SSH with {address} failed: {detail}")]
    Protocol { address: String, detail: String },
}

fn accepted_methods(accepted: &[String]) -> String {
    if accepted.is_empty() {
        String::new()
    } else {
        format!(" (it accepts: {})", accepted.join(", "))
    }
}

impl SshError {
    /// The protocol layer's error, with the address it happened with.
    pub(crate) fn protocol(address: &str, error: &russh::Error) -> SshError {
        match error {
            russh::Error::Disconnect | russh::Error::HUP | russh::Error::SendError => {
                SshError::Disconnected {
                    address: address.to_string(),
                }
            }
            russh::Error::NoCommonAlgo { kind, ours, theirs } => SshError::Protocol {
                address: address.to_string(),
                // A host with only an RSA host key lands here: the `rsa` feature is off.
                detail: format!(
                    "no {} algorithm in common: the server offers {}; Bulwark speaks {}",
                    match kind {
                        russh::AlgorithmKind::Kex => "key exchange",
                        russh::AlgorithmKind::Key => "host key",
                        russh::AlgorithmKind::Cipher => "cipher",
                        russh::AlgorithmKind::Compression => "compression",
                        russh::AlgorithmKind::Mac => "MAC",
                    },
                    theirs.join(", "),
                    ours.join(", ")
                ),
            },
            other => SshError::Protocol {
                address: address.to_string(),
                detail: other.to_string(),
            },
        }
    }
}
