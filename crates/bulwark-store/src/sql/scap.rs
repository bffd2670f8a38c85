//! SCAP data streams and scan artifacts. A data stream is stored once under its SHA-256 and
//! reached only through a template that runs it, so the same public file imported by two
//! organizations is one row, and one tenant's private content is never served to another.

use async_trait::async_trait;
use bulwark_core::{Engine, Template};

use super::templates::insert_checks;
use super::{SqlStore, visible};
use crate::{Datastream, Result, ScapStore, Scope, StoreError, TemplateSummary, args, new_id, now};

/// zstd's default level: data streams and ARF files are written once and read rarely, and
/// XML shrinks about tenfold.
const LEVEL: i32 = 3;

fn compress(bytes: &[u8]) -> Result<Vec<u8>> {
    zstd::bulk::compress(bytes, LEVEL).map_err(|e| StoreError::Invalid(format!("compressing: {e}")))
}

fn decompress(what: &str, body: &[u8]) -> Result<Vec<u8>> {
    zstd::stream::decode_all(body)
        .map_err(|e| StoreError::Invalid(format!("stored {what} is damaged: {e}")))
}

#[derive(sqlx::FromRow)]
struct Body {
    body: Vec<u8>,
}

#[async_trait]
impl ScapStore for SqlStore {
    async fn import_scap_template(
        &self,
        scope: &Scope,
        org_id: &str,
        template: &Template,
        file_name: &str,
        xml: &[u8],
    ) -> Result<TemplateSummary> {
        visible(scope, org_id, "organization")?;
        let Engine::Oscap(source) = &template.engine else {
            return Err(StoreError::Invalid(
                "only a template with the oscap engine comes from a data stream".into(),
            ));
        };
        let source_json =
            serde_json::to_string(source).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let body = compress(xml)?;
        let id = new_id();
        let ts = now();
        let mut tx = self.db.begin().await?;
        tx.execute(
            "INSERT INTO scap_datastreams (digest, file_name, size, body, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (digest) DO NOTHING",
            args![&source.datastream, file_name, xml.len() as i64, body, ts],
        )
        .await?;
        tx.execute(
            "INSERT INTO templates (id, org_id, name, framework, os_kind, version, benchmark, is_system, active, \
             content_hash, created_at, updated_at, scap_source, datastream) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13)",
            args![&id, org_id, &template.name, template.framework, template.os.as_str(), &template.version,
                &template.benchmark, false, true, &source.datastream, ts, source_json, &source.datastream],
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::NotFound("organization"),
            e => e,
        })?;
        insert_checks(&mut tx, &id, 0, &template.checks).await?;
        tx.commit().await?;
        self.visible_template(scope, &id).await
    }

    async fn datastream(&self, digest: &str) -> Result<Option<Datastream>> {
        self.db
            .fetch_optional(
                "SELECT digest, file_name, size, created_at FROM scap_datastreams WHERE digest = $1",
                args![digest],
            )
            .await
    }

    async fn datastream_for_host(&self, host_id: &str, digest: &str) -> Result<Vec<u8>> {
        let row: Option<Body> = self
            .db
            .fetch_optional(
                "SELECT d.body FROM scap_datastreams d WHERE d.digest = $1 AND EXISTS ( \
                   SELECT 1 FROM templates t JOIN hosts h ON h.id = $2 \
                   WHERE t.datastream = d.digest AND (t.org_id IS NULL OR t.org_id = h.org_id))",
                args![digest, host_id],
            )
            .await?;
        let row = row.ok_or(StoreError::NotFound("data stream"))?;
        decompress("data stream", &row.body)
    }

    async fn store_artifact(&self, scan_id: &str, kind: &str, zstd_body: &[u8]) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO scan_artifacts (scan_id, kind, body, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (scan_id, kind) DO UPDATE SET body = excluded.body, created_at = excluded.created_at",
                args![scan_id, kind, zstd_body.to_vec(), now()],
            )
            .await
            .map(|_| ())
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::NotFound("scan"),
                e => e,
            })
    }

    async fn artifact(&self, scope: &Scope, scan_id: &str, kind: &str) -> Result<Option<Vec<u8>>> {
        crate::ScanStore::get_scan(self, scope, scan_id).await?;
        let row: Option<Body> = self
            .db
            .fetch_optional(
                "SELECT body FROM scan_artifacts WHERE scan_id = $1 AND kind = $2",
                args![scan_id, kind],
            )
            .await?;
        row.map(|r| decompress(kind, &r.body)).transpose()
    }
}
