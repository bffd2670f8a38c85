//! What the agent keeps in its state directory: its id (`agent_id`), its Ed25519 key
//! (`agent.key`, mode 0600), what enrollment taught it (`enrollment.json`: host id and the
//! server's job-signing key) and the inventory hashes the server last accepted.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bulwark_protocol::{AgentKey, valid_agent_id};
use serde::{Deserialize, Serialize};

use super::files::write_atomic;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub host_id: String,
    pub server_public_key: String,
}

pub struct State {
    dir: PathBuf,
    pub agent_id: String,
    pub key: AgentKey,
}

impl State {
    /// Opens the state directory, creating the id and key on first start.
    pub fn open(dir: &Path) -> anyhow::Result<State> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
        #[cfg(unix)]
        fs::set_permissions(
            dir,
            <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
        )
        .with_context(|| format!("cannot restrict {}", dir.display()))?;
        let id_path = dir.join("agent_id");
        let agent_id = match fs::read_to_string(&id_path) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = uuid::Uuid::new_v4().to_string();
                write_atomic(&id_path, format!("{id}\n").as_bytes(), 0o644)?;
                id
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", id_path.display())),
        };
        if !valid_agent_id(&agent_id) {
            bail!(
                "{} holds {agent_id:?}, which is not a valid agent id; delete the file to get a new one",
                id_path.display()
            );
        }
        let key_path = dir.join("agent.key");
        let key = match fs::read_to_string(&key_path) {
            Ok(text) => AgentKey::from_secret_hex(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{}: {e}; delete it and agent_id to enroll afresh",
                    key_path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = AgentKey::generate();
                write_atomic(
                    &key_path,
                    format!("{}\n", key.secret_hex()).as_bytes(),
                    0o600,
                )?;
                key
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", key_path.display())),
        };
        Ok(State {
            dir: dir.to_owned(),
            agent_id,
            key,
        })
    }

    fn read_json<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Option<T> {
        let text = fs::read_to_string(self.dir.join(name)).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn write_json<T: Serialize>(&self, name: &str, value: &T) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(value)?;
        write_atomic(&self.dir.join(name), &bytes, 0o600)
            .with_context(|| format!("cannot write {name}"))
    }

    pub fn enrollment(&self) -> Option<Enrollment> {
        self.read_json("enrollment.json")
    }

    pub fn save_enrollment(&self, e: &Enrollment) -> anyhow::Result<()> {
        self.write_json("enrollment.json", e)
    }

    pub fn forget_enrollment(&self) {
        let _ = fs::remove_file(self.dir.join("enrollment.json"));
        let _ = fs::remove_file(self.dir.join("inventory.json"));
    }

    /// The category hashes the server last accepted.
    pub fn inventory_hashes(&self) -> BTreeMap<String, String> {
        self.read_json("inventory.json").unwrap_or_default()
    }

    pub fn save_inventory_hashes(&self, hashes: &BTreeMap<String, String>) -> anyhow::Result<()> {
        self.write_json("inventory.json", hashes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_and_key_are_made_once_and_the_key_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = State::open(dir.path()).unwrap();
        let again = State::open(dir.path()).unwrap();
        assert_eq!(first.agent_id, again.agent_id);
        assert_eq!(first.key.public_hex(), again.key.public_hex());
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join("agent.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_tampered_id_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("agent_id"), "../../etc\n").unwrap();
        let err = State::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("not a valid agent id"), "{err}");
    }
}
