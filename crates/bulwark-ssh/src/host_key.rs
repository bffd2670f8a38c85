//! Host key pinning. A session proceeds only with a host whose key matches the pin; on first
//! contact the offered key is reported (`HostKeyPending`) and the connection refused, so a
//! key is trusted only after a person approved it. There is deliberately no "accept any".

use std::str::FromStr;

use russh::keys::ssh_key::Fingerprint;
use russh::keys::{HashAlg, PublicKey};

use crate::SshError;

/// What the caller knows about the host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// An approved key: an OpenSSH public key line (`ssh-ed25519 AAAA… comment`, as in a
    /// `.pub` file or `ssh-keyscan` output without the host name) or its fingerprint
    /// (`SHA256:…`, as `ssh-keygen -lf` prints it).
    Pinned(String),
    /// Nothing approved yet: connecting reports the offered key as `HostKeyPending`.
    FirstContact,
}

impl HostKeyPolicy {
    /// Whether a pin can be used (a key line or a fingerprint), without connecting anywhere:
    /// what a registration checks before it stores one.
    pub fn validate(&self) -> Result<(), SshError> {
        Expected::from_policy(self).map(|_| ())
    }
}

/// A policy read once, before connecting, so that a malformed pin fails without network.
#[derive(Debug, Clone)]
pub(crate) enum Expected {
    Key(PublicKey),
    Fingerprint(Fingerprint),
    Unknown,
}

impl Expected {
    pub(crate) fn from_policy(policy: &HostKeyPolicy) -> Result<Expected, SshError> {
        let pin = match policy {
            HostKeyPolicy::FirstContact => return Ok(Expected::Unknown),
            HostKeyPolicy::Pinned(pin) => pin.trim(),
        };
        if pin.starts_with("SHA256:") || pin.starts_with("SHA512:") {
            return Fingerprint::from_str(pin)
                .map(Expected::Fingerprint)
                .map_err(|error| SshError::InvalidPin {
                    reason: format!("{pin:?} is not a valid fingerprint ({error})"),
                });
        }
        PublicKey::from_openssh(pin)
            .map(Expected::Key)
            .map_err(|error| SshError::InvalidPin {
                reason: format!(
                    "expected an OpenSSH public key line (ssh-ed25519 AAAA…) or a SHA256: \
                     fingerprint ({error})"
                ),
            })
    }

    /// Accepts the offered key, or says why not.
    pub(crate) fn check(&self, address: &str, offered: &PublicKey) -> Result<(), SshError> {
        let matches = match self {
            // Key material only: the comment of a pinned line is not part of the key.
            Expected::Key(pinned) => pinned.key_data() == offered.key_data(),
            Expected::Fingerprint(pinned) => offered.fingerprint(pinned.algorithm()) == *pinned,
            Expected::Unknown => {
                return Err(SshError::HostKeyPending {
                    address: address.to_string(),
                    fingerprint: fingerprint(offered),
                    key: key_line(offered),
                });
            }
        };
        if matches {
            return Ok(());
        }
        Err(SshError::HostKeyChanged {
            address: address.to_string(),
            expected: match self {
                Expected::Key(pinned) => fingerprint(pinned),
                Expected::Fingerprint(pinned) => pinned.to_string(),
                Expected::Unknown => String::new(),
            },
            offered: fingerprint(offered),
            offered_key: key_line(offered),
        })
    }
}

/// OpenSSH's fingerprint of a key: `SHA256:` and the unpadded base64 of the digest.
pub(crate) fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The key as an OpenSSH public key line without a comment, the value to pin.
pub(crate) fn key_line(key: &PublicKey) -> String {
    let bare = PublicKey::new(key.key_data().clone(), "");
    // Encoding a key that was just decoded from the wire cannot fail in practice; should it,
    // the fingerprint still identifies the key and approval can pin that instead.
    bare.to_openssh().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two real Ed25519 keys (ssh-keygen -t ed25519) and their `ssh-keygen -lf` fingerprints.
    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMcmtDtWyJjsDuIndTinLGyzxzlWasEw8VVFeo6jRJHk a@host";
    const FP_A: &str = "SHA256:dA32TtQK8gk7J0TvwxP4Wf6pExFUYKCBipmBxzVpP0o";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPPRSb0jLubCZLVi9ezppy8KdlNweEDQ9F44HCX8wKSM";
    const FP_B: &str = "SHA256:DCtR3JKQCtekzXXMrTuiuwfQAu6GFGSEbVVwoWhjqyc";

    fn key(line: &str) -> PublicKey {
        PublicKey::from_openssh(line).unwrap()
    }

    fn pinned(pin: &str) -> Expected {
        Expected::from_policy(&HostKeyPolicy::Pinned(pin.into())).unwrap()
    }

    #[test]
    fn fingerprints_are_openssh_sha256() {
        assert_eq!(fingerprint(&key(KEY_A)), FP_A);
    }

    #[test]
    fn key_lines_drop_the_comment() {
        assert_eq!(
            key_line(&key(KEY_A)),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMcmtDtWyJjsDuIndTinLGyzxzlWasEw8VVFeo6jRJHk"
        );
    }

    #[test]
    fn a_pinned_key_or_fingerprint_accepts_that_key_only() {
        for pin in [
            KEY_A,
            FP_A,
            "  ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMcmtDtWyJjsDuIndTinLGyzxzlWasEw8VVFeo6jRJHk\n",
        ] {
            assert!(pinned(pin).check("h:22", &key(KEY_A)).is_ok(), "{pin}");
            match pinned(pin).check("h:22", &key(KEY_B)) {
                Err(SshError::HostKeyChanged {
                    expected,
                    offered,
                    offered_key,
                    ..
                }) => {
                    assert_eq!(expected, FP_A);
                    assert_eq!(offered, FP_B);
                    assert_eq!(offered_key, KEY_B);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn first_contact_reports_the_key_and_refuses() {
        let expected = Expected::from_policy(&HostKeyPolicy::FirstContact).unwrap();
        match expected.check("h:22", &key(KEY_A)) {
            Err(SshError::HostKeyPending {
                fingerprint, key, ..
            }) => {
                assert_eq!(fingerprint, FP_A);
                assert!(KEY_A.starts_with(&key));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_pins_fail_before_connecting() {
        for pin in [
            "",
            "SHA256:not base64!",
            "MD5:aa:bb",
            "ssh-ed25519",
            "hello",
        ] {
            let error = Expected::from_policy(&HostKeyPolicy::Pinned(pin.into())).unwrap_err();
            assert!(
                matches!(error, SshError::InvalidPin { .. }),
                "{pin}: {error}"
            );
        }
    }
}
