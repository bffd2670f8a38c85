//! Secrets the server keeps for itself (SSH logins), sealed with one server key: AES-256-GCM
//! from ring, a random nonce per seal, and the owning record named as associated data, so a
//! sealed value copied into another record (another organization's credential) does not open.
//!
//! The key is 32 random bytes, written as hex in a file: `BULWARK_SECRET_KEY_FILE`, or, for
//! the embedded default, `secret.key` beside the SQLite database, made on first start. Every
//! replica of a PostgreSQL deployment reads the same file. The key never enters the database,
//! so a copy of the database alone holds no usable secret.

use std::fmt;
use std::io::Write;
use std::path::Path;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const KEY_LEN: usize = 32;
/// Sealed values start with their format, so that a later format can be told apart.
const FORMAT: &str = "v1:";

pub struct SecretBox {
    key: LessSafeKey,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(<key redacted>)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("{path}: {reason}")]
    KeyFile { path: String, reason: String },
    /// Wrong key, another record's value, or a damaged value: the cipher cannot tell which.
    #[error(
        "a stored secret cannot be opened with this server's key (was BULWARK_SECRET_KEY_FILE changed, or the value copied from another record?)"
    )]
    Unopenable,
}

impl SecretBox {
    pub fn from_key(bytes: [u8; KEY_LEN]) -> SecretBox {
        let key = UnboundKey::new(&AES_256_GCM, &bytes).expect("a 32-byte key fits AES-256");
        SecretBox {
            key: LessSafeKey::new(key),
        }
    }

    /// Reads a key file: 64 hex digits (surrounding white space ignored).
    pub fn load(path: &Path) -> Result<SecretBox, SecretError> {
        let error = |reason: String| SecretError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        let bytes = hex::decode(text.trim())
            .ok()
            .and_then(|b| <[u8; KEY_LEN]>::try_from(b).ok())
            .ok_or_else(|| {
                error(format!(
                    "not a server secret key: expected {} hex digits (make one with: openssl rand -hex 32)",
                    KEY_LEN * 2
                ))
            })?;
        Ok(SecretBox::from_key(bytes))
    }

    /// Reads the key file, or makes it (mode 0600) when there is none yet.
    pub fn load_or_create(path: &Path) -> Result<SecretBox, SecretError> {
        if path.exists() {
            return SecretBox::load(path);
        }
        let mut bytes = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SecretError::KeyFile {
                path: path.display().to_string(),
                reason: "the system's random source failed".into(),
            })?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(path)
            .and_then(|mut f| f.write_all(hex::encode(bytes).as_bytes()))
            .map_err(|e| SecretError::KeyFile {
                path: path.display().to_string(),
                reason: format!("cannot write a new key: {e}"),
            })?;
        Ok(SecretBox::from_key(bytes))
    }

    /// Seals `plaintext` for the record `owner` names.
    pub fn seal(&self, plaintext: &[u8], owner: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system's random source works");
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.as_bytes()),
                &mut sealed,
            )
            .expect("sealing fits in memory");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{FORMAT}{}", hex::encode(out))
    }

    pub fn open(&self, sealed: &str, owner: &str) -> Result<Vec<u8>, SecretError> {
        let bytes = sealed
            .strip_prefix(FORMAT)
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() >= NONCE_LEN)
            .ok_or(SecretError::Unopenable)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::Unopenable)?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(owner.as_bytes()), &mut buffer)
            .map_err(|_| SecretError::Unopenable)?;
        Ok(plaintext.to_vec())
    }
}

/// The installation's secret box; without one, a conflict saying how to configure it.
pub fn secret_box(state: &crate::AppState) -> crate::error::ApiResult<&SecretBox> {
    state.config.secrets.as_deref().ok_or_else(|| {
        crate::error::AppError::Conflict(
            "this server has no secret key to seal secrets with: set BULWARK_SECRET_KEY_FILE (the same file on every replica)".into(),
        )
    })
}

/// Opens a sealed text secret for its owner record.
pub fn open_string(
    state: &crate::AppState,
    sealed: &str,
    owner: &str,
) -> crate::error::ApiResult<String> {
    let plain = secret_box(state)?.open(sealed, owner).map_err(|e| {
        crate::error::AppError::Internal(format!("a sealed secret of {owner}: {e}"))
    })?;
    String::from_utf8(plain).map_err(|_| {
        crate::error::AppError::Internal(format!("a sealed secret of {owner} is not text"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_owner() {
        let secrets = SecretBox::from_key([7; KEY_LEN]);
        let sealed = secrets.seal(b"hunter2", "org-a/scan key");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            secrets.seal(b"hunter2", "org-a/scan key"),
            "random nonces"
        );
        assert_eq!(secrets.open(&sealed, "org-a/scan key").unwrap(), b"hunter2");
        assert_eq!(
            secrets.open(&sealed, "org-b/scan key"),
            Err(SecretError::Unopenable),
            "another record's value"
        );
        assert_eq!(
            SecretBox::from_key([8; KEY_LEN]).open(&sealed, "org-a/scan key"),
            Err(SecretError::Unopenable),
            "another key"
        );
        let mut tampered = sealed.clone();
        tampered.replace_range(sealed.len() - 2.., "00");
        assert_eq!(
            secrets.open(&tampered, "org-a/scan key"),
            Err(SecretError::Unopenable)
        );
        assert_eq!(secrets.open("v1:zz", "x"), Err(SecretError::Unopenable));
    }

    #[test]
    fn a_key_file_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let first = SecretBox::load_or_create(&path).unwrap();
        let sealed = first.seal(b"x", "o");
        let again = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed, "o").unwrap(), b"x", "the same key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        let error = SecretBox::load(&path).unwrap_err().to_string();
        assert!(error.contains("64 hex digits"), "{error}");
        assert!(!format!("{first:?}").contains(&std::fs::read_to_string(&path).unwrap()));
    }
}
