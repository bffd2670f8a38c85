//! The SQL implementation of every store trait, shared by both backends.

mod accounts;
mod agents;
mod exceptions;
mod hosts;
mod jobs;
mod leases;
mod notifications;
mod policies;
mod provisioning;
mod reports;
mod result_sets;
mod scans;
mod scap;
mod ssh;
mod templates;

use crate::db::{Arg, Db, placeholders};
use crate::model::Scope;
pub(crate) use result_sets::encode as encode_results;

pub struct SqlStore {
    db: Db,
}

impl SqlStore {
    pub fn new(db: Db) -> Self {
        SqlStore { db }
    }
}

/// A `WHERE` fragment restricting `column` to the scope's organizations, with its
/// parameters numbered from `start`.
fn scope_clause(scope: &Scope, column: &str, start: usize) -> (String, Vec<Arg>) {
    match scope {
        Scope::All => ("1 = 1".into(), vec![]),
        Scope::Orgs(orgs) if orgs.is_empty() => ("1 = 0".into(), vec![]),
        Scope::Orgs(orgs) => (
            format!("{column} IN ({})", placeholders(start, orgs.len())),
            orgs.iter().map(Arg::from).collect(),
        ),
    }
}

/// `NotFound` unless the scope sees `org_id`: another tenant's object looks missing.
fn visible(scope: &Scope, org_id: &str, what: &'static str) -> crate::Result<()> {
    if scope.allows(org_id) {
        Ok(())
    } else {
        Err(crate::StoreError::NotFound(what))
    }
}
