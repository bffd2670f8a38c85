//! Parsed checks of templates, kept per (template, revision): every ingest needs its
//! template's checks, and parsing a few hundred stored definitions per scan would dominate
//! ingest. A change to a template bumps its revision, so a stale entry is never used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bulwark_store::{Scope, Store, StoreError, TemplateCheck, TemplateSummary};

/// A template's revision and its parsed checks.
type Entry = (i64, Arc<Vec<TemplateCheck>>);

#[derive(Default)]
pub struct ChecksCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl ChecksCache {
    pub async fn checks(
        &self,
        store: &dyn Store,
        template: &TemplateSummary,
    ) -> Result<Arc<Vec<TemplateCheck>>, StoreError> {
        if let Some((revision, checks)) = self.entries.lock().expect("cache lock").get(&template.id)
            && *revision == template.revision
        {
            return Ok(checks.clone());
        }
        let checks = Arc::new(store.template_checks(&Scope::All, &template.id).await?);
        self.entries
            .lock()
            .expect("cache lock")
            .insert(template.id.clone(), (template.revision, checks.clone()));
        Ok(checks)
    }
}
