//! Opening and closing a session: TCP connect, key exchange with the host key checked
//! against the policy, and authentication, all under one connect timeout.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{
    Algorithm, EcdsaCurve, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate,
};
use russh::{Disconnect, MethodKind, Preferred};
use tokio::net::TcpStream;

use crate::host_key::{self, Expected};
use crate::{Auth, AuthMethod, HostKeyPolicy, SshError, Target, Timeouts};

/// An authenticated SSH connection to one host. Commands run on it one channel each
/// (`run`); several may run at once.
pub struct Session {
    pub(crate) handle: Handle<Client>,
    pub(crate) address: String,
    host_key_fingerprint: String,
}

impl Session {
    /// Connects, checks the host key against `policy`, and logs in. The credentials are sent
    /// only after the host key passed the check, and the whole sequence is bounded by
    /// `timeouts.connect`.
    pub async fn connect(
        target: &Target,
        auth: &Auth,
        policy: &HostKeyPolicy,
        timeouts: Timeouts,
    ) -> Result<Session, SshError> {
        let address = target.display_address();
        // Local mistakes (a malformed pin, an unreadable key) fail before any network.
        let expected = Expected::from_policy(policy)?;
        let credential = Credential::from_auth(auth)?;
        let attempt = connect_and_login(target, &address, expected, credential, timeouts);
        match tokio::time::timeout(timeouts.connect, attempt).await {
            Ok(result) => result,
            Err(_elapsed) => Err(SshError::TimedOut {
                address,
                after: timeouts.connect,
            }),
        }
    }

    /// The fingerprint of the host key this session was accepted with (`SHA256:…`).
    pub fn host_key_fingerprint(&self) -> &str {
        &self.host_key_fingerprint
    }

    /// The connection is gone (the host closed it, or the network dropped it): no further
    /// command can run on this session.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Ends the session, telling the server so. (No command can still be running: `run`
    /// borrows the session.)
    pub async fn close(self) {
        // A server that is already gone has nothing to be told, and no error to report; the
        // message is queued for the session's task, and a wedged task must not hold us.
        let goodbye = self.handle.disconnect(Disconnect::ByApplication, "", "en");
        let _ = tokio::time::timeout(Duration::from_secs(5), goodbye).await;
    }
}

async fn connect_and_login(
    target: &Target,
    address: &str,
    expected: Expected,
    credential: Credential,
    timeouts: Timeouts,
) -> Result<Session, SshError> {
    let stream = TcpStream::connect((target.address.as_str(), target.port))
        .await
        .map_err(|source| SshError::Unreachable {
            address: address.to_string(),
            source,
        })?;
    // Commands and their small replies are latency-bound; Nagle only delays them.
    let _ = stream.set_nodelay(true);

    let seen = Arc::new(OnceLock::new());
    let client = Client {
        address: address.to_string(),
        expected,
        seen: Arc::clone(&seen),
    };
    let mut handle = client::connect_stream(Arc::new(config(timeouts)), stream, client)
        .await
        .map_err(|error| error.into_ssh_error(address))?;
    // connect_stream returns only after the host key was accepted, so it has been seen.
    let host_key_fingerprint = seen.get().cloned().unwrap_or_default();

    let (method, result) = match credential {
        Credential::Key(key) => {
            // Without the `rsa` feature every key is Ed25519 or ECDSA: no hash to choose.
            let key = PrivateKeyWithHashAlg::new(Arc::new(*key), None);
            let result = handle.authenticate_publickey(&target.user, key).await;
            (AuthMethod::PublicKey, result)
        }
        Credential::Password(password) => {
            let result = handle.authenticate_password(&target.user, password).await;
            (AuthMethod::Password, result)
        }
    };
    match result.map_err(|error| SshError::protocol(address, &error))? {
        client::AuthResult::Success => Ok(Session {
            handle,
            address: address.to_string(),
            host_key_fingerprint,
        }),
        client::AuthResult::Failure {
            remaining_methods, ..
        } => Err(SshError::AuthRefused {
            address: address.to_string(),
            user: target.user.clone(),
            method,
            accepted: remaining_methods
                .iter()
                .filter(|method| **method != MethodKind::None)
                .map(|method| <&str>::from(method).to_string())
                .collect(),
        }),
    }
}

fn config(timeouts: Timeouts) -> client::Config {
    client::Config {
        keepalive_interval: Some(timeouts.keepalive_interval),
        keepalive_max: timeouts.keepalive_max,
        // No inactivity timeout: a command may be silent for long; run's deadline bounds it.
        inactivity_timeout: None,
        preferred: Preferred {
            // Only the host key algorithms this build can verify, so that a host with
            // another kind of key fails in negotiation with a message saying so.
            key: Cow::Borrowed(&[
                Algorithm::Ed25519,
                Algorithm::Ecdsa {
                    curve: EcdsaCurve::NistP256,
                },
                Algorithm::Ecdsa {
                    curve: EcdsaCurve::NistP384,
                },
                Algorithm::Ecdsa {
                    curve: EcdsaCurve::NistP521,
                },
            ]),
            ..Preferred::default()
        },
        ..client::Config::default()
    }
}

/// A credential decoded before connecting, so that a bad key never costs a connection.
pub(crate) enum Credential {
    // Boxed: a decoded key is a few hundred bytes, a password three words.
    Key(Box<russh::keys::PrivateKey>),
    Password(String),
}

impl Credential {
    pub(crate) fn from_auth(auth: &Auth) -> Result<Credential, SshError> {
        match auth {
            Auth::Password(password) => Ok(Credential::Password(password.clone())),
            Auth::PrivateKey { pem, passphrase } => {
                let key = russh::keys::decode_secret_key(pem, passphrase.as_deref()).map_err(
                    |error| SshError::InvalidKey {
                        reason: key_error(&error, passphrase.is_some()),
                    },
                )?;
                // RSA keys parse without the `rsa` feature but cannot sign; security keys
                // (sk-*) need their hardware. Say so now rather than as a refused login.
                match key.algorithm() {
                    Algorithm::Ed25519 | Algorithm::Ecdsa { .. } => {
                        Ok(Credential::Key(Box::new(key)))
                    }
                    other => Err(SshError::InvalidKey {
                        reason: format!(
                            "{} keys are not supported (use an Ed25519 or ECDSA key)",
                            other.as_str()
                        ),
                    }),
                }
            }
        }
    }
}

/// Why a key could not be used, in words that never include the key itself.
fn key_error(error: &russh::keys::Error, had_passphrase: bool) -> String {
    match error {
        russh::keys::Error::KeyIsEncrypted => {
            "the key is encrypted and no passphrase was given".into()
        }
        russh::keys::Error::UnsupportedKeyType {
            key_type_string, ..
        } => format!("{key_type_string} keys are not supported (use an Ed25519 or ECDSA key)"),
        // Decryption with a wrong passphrase yields garbage that fails to parse.
        _ if had_passphrase => {
            "the key cannot be read: the passphrase is wrong or the key is damaged".into()
        }
        _ => format!(
            "the key cannot be read ({error}); expected an OpenSSH, PKCS#8 or PuTTY private \
             key, Ed25519 or ECDSA"
        ),
    }
}

/// russh's per-connection callbacks. Only the host key check matters here.
pub(crate) struct Client {
    address: String,
    expected: Expected,
    /// The accepted key's fingerprint, for `Session::host_key_fingerprint`.
    seen: Arc<OnceLock<String>>,
}

/// The handler's error: russh's own, or our verdict on the host key, which must come out of
/// `connect_stream` intact (as `HostKeyPending` or `HostKeyChanged`, not "unknown key").
#[derive(Debug)]
pub(crate) enum ClientError {
    Russh(russh::Error),
    HostKey(SshError),
}

impl From<russh::Error> for ClientError {
    fn from(error: russh::Error) -> Self {
        ClientError::Russh(error)
    }
}

impl ClientError {
    fn into_ssh_error(self, address: &str) -> SshError {
        match self {
            ClientError::HostKey(error) => error,
            ClientError::Russh(error) => SshError::protocol(address, &error),
        }
    }
}

impl client::Handler for Client {
    type Error = ClientError;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // russh has verified the exchange's signature with this key before asking. Host
        // certificates are not requested (Preferred::host_key_certificates is empty); should
        // a server send one anyway, its key is what signed the exchange and what is pinned.
        let key = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(certificate) => {
                PublicKey::new(certificate.public_key().clone(), "")
            }
        };
        self.expected
            .check(&self.address, &key)
            .map_err(ClientError::HostKey)?;
        let _ = self.seen.set(host_key::fingerprint(&key));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_keys_are_refused_without_showing_them() {
        let auth = Auth::PrivateKey {
            pem: "-----BEGIN OPENSSH PRIVATE KEY-----\nSECRETGARBAGE\n-----END OPENSSH PRIVATE KEY-----\n".into(),
            passphrase: None,
        };
        let Err(error) = Credential::from_auth(&auth) else {
            panic!("garbage accepted as a key");
        };
        let message = error.to_string();
        assert!(matches!(error, SshError::InvalidKey { .. }), "{message}");
        assert!(!message.contains("SECRET"), "{message}");
    }
}
