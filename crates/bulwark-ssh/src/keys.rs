//! Keys an administrator gives the server or lets it make: a private key is checked (and its
//! public half derived) when it is stored, not when the first scan needs it.

use rand::Rng;
use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};

use crate::session::Credential;
use crate::{Auth, SshError};

/// A new login key: the private key in OpenSSH's format and the public key line to put in
/// the scanned hosts' authorized_keys.
pub struct KeyPair {
    pub private_pem: String,
    pub public_line: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("private_pem", &"<redacted>")
            .field("public_line", &self.public_line)
            .finish()
    }
}

/// Makes an Ed25519 key pair; `comment` ends the public key line.
pub fn generate_ed25519(comment: &str) -> Result<KeyPair, SshError> {
    let mut seed = [0u8; 32];
    rand::rng().fill(&mut seed);
    let pair = Ed25519Keypair::from_seed(&seed);
    let key = PrivateKey::new(KeypairData::Ed25519(pair), comment).map_err(invalid)?;
    let private_pem = key.to_openssh(LineEnding::LF).map_err(invalid)?.to_string();
    let public_line = key.public_key().to_openssh().map_err(invalid)?;
    Ok(KeyPair {
        private_pem,
        public_line,
    })
}

/// Checks that a credential can be used for a login (a key that decodes with its passphrase
/// and is of a supported type); for a key, its public key line.
pub fn public_key_line(auth: &Auth) -> Result<Option<String>, SshError> {
    match Credential::from_auth(auth)? {
        Credential::Password(_) => Ok(None),
        Credential::Key(key) => key.public_key().to_openssh().map(Some).map_err(invalid),
    }
}

fn invalid(error: impl std::fmt::Display) -> SshError {
    SshError::InvalidKey {
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_usable_and_its_public_half_matches() {
        let pair = generate_ed25519("bulwark scan").unwrap();
        assert!(
            pair.private_pem
                .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----")
        );
        assert!(pair.public_line.starts_with("ssh-ed25519 AAAA"));
        assert!(pair.public_line.ends_with(" bulwark scan"));
        let auth = Auth::PrivateKey {
            pem: pair.private_pem.clone(),
            passphrase: None,
        };
        assert_eq!(
            public_key_line(&auth).unwrap(),
            Some(pair.public_line.clone())
        );
        assert!(!format!("{pair:?}").contains("PRIVATE"));
        let other = generate_ed25519("x").unwrap();
        assert_ne!(other.public_line, pair.public_line, "keys are random");
    }

    #[test]
    fn a_bad_key_is_refused_when_stored() {
        let auth = Auth::PrivateKey {
            pem: "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n".into(),
            passphrase: None,
        };
        assert!(matches!(
            public_key_line(&auth),
            Err(SshError::InvalidKey { .. })
        ));
        assert_eq!(public_key_line(&Auth::Password("pw".into())).unwrap(), None);
    }
}
