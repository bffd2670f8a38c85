//! The spool: results, job failures and inventory that could not reach the server, kept on
//! disk until it is back. Each item is its own file, written atomically (a crash leaves the
//! item whole or absent, and leftovers of an interrupted write are removed on open), named by
//! a sequence number so that items are sent oldest first. The spool is bounded by items and
//! bytes; when full, the oldest items are dropped and counted, and the count is reported in
//! the next heartbeat. Submissions are idempotent on the server, so an item sent twice (a
//! crash between sending and removing it) is harmless.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use bulwark_protocol::wire::{AgentResult, InventoryRequest};
use serde::{Deserialize, Serialize};

use super::files::{is_leftover, write_atomic};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    Results {
        scan_id: String,
        results: Vec<AgentResult>,
        /// A zstd-compressed ARF file (SCAP scans) to send before the results.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arf: Option<PathBuf>,
    },
    JobFailed {
        job_id: String,
        reason: String,
    },
    /// How a host-control job ended (no secret is ever in it).
    JobReport {
        job_id: String,
        report: bulwark_protocol::wire::JobReport,
    },
    /// Only the newest inventory is kept: an older one describes a host that no longer is.
    Inventory {
        request: InventoryRequest,
    },
}

pub struct Spool {
    dir: PathBuf,
    max_items: usize,
    max_bytes: u64,
    next_seq: u64,
}

const DROPPED: &str = "dropped";

fn seq_of(name: &str) -> Option<u64> {
    name.strip_suffix(".json")?.parse().ok()
}

impl Spool {
    pub fn open(dir: &Path, max_items: usize, max_bytes: u64) -> anyhow::Result<Spool> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the spool {}", dir.display()))?;
        let mut next_seq = 0;
        for entry in fs::read_dir(dir)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_leftover(&name) {
                let _ = fs::remove_file(entry.path());
            } else if let Some(seq) = seq_of(&name) {
                next_seq = next_seq.max(seq + 1);
            }
        }
        Ok(Spool {
            dir: dir.to_owned(),
            max_items: max_items.max(1),
            max_bytes,
            next_seq,
        })
    }

    /// The spooled files, oldest first, with their sizes.
    fn files(&self) -> Vec<(PathBuf, u64)> {
        let mut files: Vec<(u64, PathBuf, u64)> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let seq = seq_of(&e.file_name().to_string_lossy())?;
                Some((seq, e.path(), e.metadata().map(|m| m.len()).unwrap_or(0)))
            })
            .collect();
        files.sort_by_key(|(seq, _, _)| *seq);
        files.into_iter().map(|(_, p, n)| (p, n)).collect()
    }

    pub fn len(&self) -> usize {
        self.files().len()
    }

    pub fn push(&mut self, item: &Item) -> anyhow::Result<()> {
        if matches!(item, Item::Inventory { .. }) {
            for (path, item) in self.items() {
                if matches!(item, Item::Inventory { .. }) {
                    let _ = fs::remove_file(path);
                }
            }
        }
        let bytes = serde_json::to_vec(item)?;
        let path = self.dir.join(format!("{:020}.json", self.next_seq));
        self.next_seq += 1;
        write_atomic(&path, &bytes, 0o600).context("cannot write to the spool")?;
        self.enforce_bounds()
    }

    /// Drops the oldest items until the spool fits its bounds.
    fn enforce_bounds(&mut self) -> anyhow::Result<()> {
        let files = self.files();
        let mut count = files.len();
        let mut bytes: u64 = files.iter().map(|(_, n)| n).sum();
        let mut dropped = 0;
        for (path, size) in files {
            if count <= self.max_items && bytes <= self.max_bytes {
                break;
            }
            fs::remove_file(&path)?;
            count -= 1;
            bytes -= size;
            dropped += 1;
        }
        if dropped > 0 {
            tracing::warn!(dropped, "the spool is full; the oldest items were dropped");
            self.add_dropped(dropped)?;
        }
        Ok(())
    }

    /// The items, oldest first. An item that does not parse is dropped and counted.
    pub fn items(&self) -> Vec<(PathBuf, Item)> {
        let mut out = Vec::new();
        for (path, _) in self.files() {
            match fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
            {
                Some(item) => out.push((path, item)),
                None => {
                    tracing::warn!(path = %path.display(), "dropping a spool item that does not parse");
                    let _ = fs::remove_file(&path);
                    let _ = self.add_dropped(1);
                }
            }
        }
        out
    }

    pub fn remove(&self, path: &Path) -> anyhow::Result<()> {
        fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))
    }

    /// Items dropped and not yet reported to the server.
    pub fn dropped(&self) -> u64 {
        fs::read_to_string(self.dir.join(DROPPED))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }

    fn add_dropped(&self, n: u64) -> anyhow::Result<()> {
        let total = self.dropped() + n;
        write_atomic(&self.dir.join(DROPPED), total.to_string().as_bytes(), 0o600)?;
        Ok(())
    }

    /// The server heard of `n` drops.
    pub fn reported_dropped(&self, n: u64) -> anyhow::Result<()> {
        let left = self.dropped().saturating_sub(n);
        write_atomic(&self.dir.join(DROPPED), left.to_string().as_bytes(), 0o600)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(scan: &str) -> Item {
        Item::Results {
            scan_id: scan.into(),
            arf: None,
            results: vec![],
        }
    }

    #[test]
    fn items_come_back_oldest_first_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 10, 1 << 20).unwrap();
        spool.push(&results("a")).unwrap();
        spool.push(&results("b")).unwrap();
        let mut spool = Spool::open(dir.path(), 10, 1 << 20).unwrap();
        spool.push(&results("c")).unwrap();
        let scans: Vec<Item> = spool.items().into_iter().map(|(_, i)| i).collect();
        assert_eq!(scans, vec![results("a"), results("b"), results("c")]);
    }

    #[test]
    fn a_full_spool_drops_the_oldest_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 3, 1 << 20).unwrap();
        for s in ["a", "b", "c", "d", "e"] {
            spool.push(&results(s)).unwrap();
        }
        let kept: Vec<Item> = spool.items().into_iter().map(|(_, i)| i).collect();
        assert_eq!(kept, vec![results("c"), results("d"), results("e")]);
        assert_eq!(spool.dropped(), 2);
        spool.reported_dropped(2).unwrap();
        assert_eq!(spool.dropped(), 0);

        let mut by_bytes = Spool::open(&dir.path().join("small"), 100, 120).unwrap();
        for s in ["a", "b", "c"] {
            by_bytes.push(&results(s)).unwrap();
        }
        assert!(by_bytes.len() < 3, "bounded by bytes too");
        assert_eq!(by_bytes.dropped() as usize + by_bytes.len(), 3);
    }

    #[test]
    fn only_the_newest_inventory_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 10, 1 << 20).unwrap();
        let inv = |h: &str| Item::Inventory {
            request: InventoryRequest {
                hashes: [("system".to_owned(), h.to_owned())].into(),
                ..Default::default()
            },
        };
        spool.push(&inv("1")).unwrap();
        spool.push(&results("a")).unwrap();
        spool.push(&inv("2")).unwrap();
        let kept: Vec<Item> = spool.items().into_iter().map(|(_, i)| i).collect();
        assert_eq!(kept, vec![results("a"), inv("2")]);
        assert_eq!(spool.dropped(), 0, "superseded, not dropped");
    }

    #[test]
    fn a_crash_mid_write_leaves_no_corrupt_item() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 10, 1 << 20).unwrap();
        spool.push(&results("a")).unwrap();
        // What an interrupted write leaves: a temporary file, never a half item file.
        fs::write(
            dir.path().join(".tmp-00000000000000000001.json-42"),
            b"{\"kind\":\"resu",
        )
        .unwrap();
        // And a damaged item (a disk error) is dropped and counted rather than stopping the spool.
        fs::write(dir.path().join("00000000000000000007.json"), b"{\"kind\":").unwrap();
        let spool = Spool::open(dir.path(), 10, 1 << 20).unwrap();
        let kept: Vec<Item> = spool.items().into_iter().map(|(_, i)| i).collect();
        assert_eq!(kept, vec![results("a")]);
        assert_eq!(spool.dropped(), 1);
        assert!(
            !dir.path()
                .join(".tmp-00000000000000000001.json-42")
                .exists()
        );
    }
}
