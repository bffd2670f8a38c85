//! System templates from the shipped content, written to the store at start-up and whenever
//! the content changes (compared by a hash of the template).

use bulwark_store::{Store, StoreError};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct SeedReport {
    pub templates: usize,
    /// Templates that were new or changed.
    pub updated: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the shipped content is invalid:\n{0}")]
    Content(#[from] bulwark_content::Problems),
    #[error("storing template {0}: {1}")]
    Store(String, StoreError),
}

pub async fn system_templates(store: &dyn Store) -> Result<SeedReport, SeedError> {
    let mut report = SeedReport::default();
    for t in &bulwark_content::shipped_templates()? {
        let json = serde_json::to_vec(t).expect("a template serializes");
        let hash = hex::encode(Sha256::digest(&json));
        if store
            .sync_system_template(t, &hash)
            .await
            .map_err(|e| SeedError::Store(t.id.clone(), e))?
        {
            report.updated.push(t.id.clone());
        }
        report.templates += 1;
    }
    Ok(report)
}
