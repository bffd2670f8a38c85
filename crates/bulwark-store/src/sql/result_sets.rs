//! A scan's per-check results stored as one document per scan (migration 0004): written once
//! at completion, read whole. The document is a JSON array of [`Stored`] records; `encoding`
//! says whether it is compressed.

use bulwark_core::{CheckOutcome, Severity, Status};
use serde::{Deserialize, Serialize};

use crate::{Result, ScanResult, StoreError};

/// Rows that migration 0004 moved from the old `scan_results` table.
const JSON: &str = "json";
/// Everything ingest writes.
const JSON_ZSTD: &str = "json+zstd";
/// Fast end of zstd's range: on a scan's JSON it gives most of the size win at a fraction of
/// the default level's time, and ingest is the hot path.
const LEVEL: i32 = 1;

/// The stored shape of one result, fixed here rather than borrowed from the API types so that
/// a change to those cannot make stored scans unreadable. The field names are the ones the
/// migration's `json_object` writes.
#[derive(Serialize, Deserialize)]
pub(super) struct Stored {
    pub(super) check_id: String,
    pub(super) status: String,
    pub(super) severity: String,
    pub(super) category: String,
    pub(super) title: String,
    pub(super) actual: Option<String>,
    pub(super) expected: String,
    pub(super) reason: Option<String>,
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| StoreError::Invalid(format!("stored {what} {s:?} is not known")))
}

impl Stored {
    fn of(r: &ScanResult) -> Stored {
        Stored {
            check_id: r.check_id.clone(),
            status: r.outcome.status.as_str().into(),
            severity: r.severity.as_str().into(),
            category: r.category.clone(),
            title: r.title.clone(),
            actual: r.outcome.actual.clone(),
            expected: r.outcome.expected.clone(),
            reason: r.outcome.reason.clone(),
        }
    }

    pub(super) fn into_result(self) -> Result<ScanResult> {
        Ok(ScanResult {
            severity: parse::<Severity>("severity", &self.severity)?,
            outcome: CheckOutcome {
                status: parse::<Status>("status", &self.status)?,
                actual: self.actual,
                expected: self.expected,
                reason: self.reason,
            },
            check_id: self.check_id,
            title: self.title,
            category: self.category,
        })
    }
}

/// The encoding and body to store for `results`, sorted by check id. A check id appearing
/// twice is refused: a scan has one result per check.
pub(crate) fn encode(results: &[ScanResult]) -> Result<(&'static str, Vec<u8>)> {
    let mut stored: Vec<Stored> = results.iter().map(Stored::of).collect();
    stored.sort_by(|a, b| a.check_id.cmp(&b.check_id));
    if let Some(twice) = stored.windows(2).find(|w| w[0].check_id == w[1].check_id) {
        return Err(StoreError::Invalid(format!(
            "check id {:?} appears twice in the results",
            twice[0].check_id
        )));
    }
    let json = serde_json::to_vec(&stored).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let body = zstd::bulk::compress(&json, LEVEL)
        .map_err(|e| StoreError::Invalid(format!("compressing results: {e}")))?;
    Ok((JSON_ZSTD, body))
}

/// The stored records of one scan, in check id order.
pub(super) fn decode(scan_id: &str, encoding: &str, body: &[u8]) -> Result<Vec<Stored>> {
    let corrupt =
        |why: String| StoreError::Invalid(format!("stored results of scan {scan_id}: {why}"));
    let json = match encoding {
        JSON => std::borrow::Cow::Borrowed(body),
        JSON_ZSTD => std::borrow::Cow::Owned(
            zstd::stream::decode_all(body).map_err(|e| corrupt(e.to_string()))?,
        ),
        other => return Err(corrupt(format!("unknown encoding {other:?}"))),
    };
    serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))
}

/// A `scan_result_sets` row.
#[derive(sqlx::FromRow)]
pub(super) struct ResultSetRow {
    pub scan_id: String,
    pub encoding: String,
    pub body: Vec<u8>,
}

impl ResultSetRow {
    pub(super) fn records(&self) -> Result<Vec<Stored>> {
        decode(&self.scan_id, &self.encoding, &self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, status: Status) -> ScanResult {
        ScanResult {
            check_id: id.into(),
            title: format!("Check {id}"),
            category: "Logging".into(),
            severity: Severity::High,
            outcome: CheckOutcome {
                status,
                actual: Some("seen".into()),
                expected: "wanted".into(),
                reason: None,
            },
        }
    }

    #[test]
    fn results_come_back_as_written_in_check_order() {
        let written = vec![result("B", Status::Fail), result("A", Status::Pass)];
        let (encoding, body) = encode(&written).unwrap();
        let read: Vec<ScanResult> = decode("s", encoding, &body)
            .unwrap()
            .into_iter()
            .map(|s| s.into_result().unwrap())
            .collect();
        assert_eq!(read, vec![written[1].clone(), written[0].clone()]);
    }

    #[test]
    fn a_check_id_twice_is_refused() {
        let err = encode(&[result("A", Status::Pass), result("A", Status::Fail)]).unwrap_err();
        assert!(err.to_string().contains("\"A\" appears twice"), "{err}");
    }

    #[test]
    fn the_migrated_plain_json_reads() {
        let body = br#"[{"check_id":"A","status":"fail","severity":"low","category":"c","title":"t","actual":null,"expected":"e","reason":"r"}]"#;
        let read = decode("s", "json", body)
            .unwrap()
            .remove(0)
            .into_result()
            .unwrap();
        assert_eq!(read.outcome.status, Status::Fail);
        assert_eq!(read.outcome.reason.as_deref(), Some("r"));
    }

    #[test]
    fn damage_names_the_scan() {
        for (encoding, body) in [
            ("json+zstd", &b"not zstd"[..]),
            ("gzip", b"[]"),
            ("json", b"[{"),
        ] {
            let err = decode("scan-7", encoding, body).err().unwrap();
            assert!(err.to_string().contains("scan-7"), "{err}");
        }
    }
}
