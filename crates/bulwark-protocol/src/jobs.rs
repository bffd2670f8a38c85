//! Jobs, and the server's signature on them. The agent runs only what its server signed: at
//! enrollment it learns the server's public key and keeps it; every job arrives as a
//! [`SignedJob`] whose payload it verifies with that key before it reads a field, and a job
//! for another agent, or one signed more than [`MAX_JOB_AGE_SECS`] ago, is refused.

use bulwark_core::{Check, Engine, HostAction};
use serde::{Deserialize, Serialize};

use crate::signing::{AgentKey, Refusal, verify};

/// How long a signed job stays runnable; redelivery signs it again.
pub const MAX_JOB_AGE_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Job {
    pub id: String,
    /// The agent this job is for.
    pub agent_id: String,
    /// When the server signed it (Unix seconds).
    pub issued_at: i64,
    /// Past this (Unix seconds) the agent does not start the job: its result would come
    /// after the server gave up on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_at: Option<i64>,
    #[serde(flatten)]
    pub kind: JobKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
// A job is built once per delivery and moved whole to where it runs, never kept in bulk: the
// size of its largest variant costs nothing, and boxing a scan's engine would only blur the
// matches on it.
#[allow(clippy::large_enum_variant)]
pub enum JobKind {
    /// Evaluate these checks (already the policy's template, with overrides and edits) and
    /// post the results for `scan_id`.
    ComplianceScan {
        scan_id: String,
        template_id: String,
        template_name: String,
        /// `oscap`: run the data stream's profile instead of evaluating the checks' probes
        /// (the checks then name the rules to report).
        #[serde(default, skip_serializing_if = "Engine::is_native")]
        engine: Engine,
        checks: Vec<Check>,
    },
    /// A host-control action; the agent answers with a [`crate::wire::JobReport`].
    HostAction { action: HostAction },
}

/// A job as delivered: the payload is the JSON of a [`Job`], exactly as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignedJob {
    pub id: String,
    pub payload: String,
    pub signature: String,
}

fn signed_bytes(payload: &str) -> Vec<u8> {
    format!("BULWARK-JOB-V1\n{payload}").into_bytes()
}

impl SignedJob {
    pub fn sign(job: &Job, server_key: &AgentKey) -> Self {
        let payload = serde_json::to_string(job).expect("a job serializes");
        SignedJob {
            id: job.id.clone(),
            signature: server_key.sign(&signed_bytes(&payload)),
            payload,
        }
    }

    /// Verifies and reads the job. A payload that verifies but does not parse (a kind this
    /// agent does not know) is [`Opened::Unreadable`], which the agent reports as failed.
    pub fn open(
        &self,
        server_public_key: &str,
        agent_id: &str,
        now: i64,
    ) -> Result<Opened, Refusal> {
        verify(
            server_public_key,
            &signed_bytes(&self.payload),
            &self.signature,
        )?;
        let value: serde_json::Value =
            serde_json::from_str(&self.payload).map_err(|_| Refusal::BadSignature)?;
        if value.get("agent_id").and_then(|v| v.as_str()) != Some(agent_id)
            || value.get("id").and_then(|v| v.as_str()) != Some(self.id.as_str())
        {
            return Err(Refusal::NotForThisAgent);
        }
        let issued = value.get("issued_at").and_then(|v| v.as_i64()).unwrap_or(0);
        if now - issued > MAX_JOB_AGE_SECS {
            return Err(Refusal::StaleJob);
        }
        Ok(match serde_json::from_value::<Job>(value) {
            Ok(job) => Opened::Job(Box::new(job)),
            Err(e) => Opened::Unreadable(format!("the agent cannot read this job: {e}")),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    Job(Box<Job>),
    Unreadable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job {
            id: "job-1".into(),
            agent_id: "agent-1".into(),
            issued_at: 1000,
            deadline_at: None,
            kind: JobKind::ComplianceScan {
                scan_id: "scan-1".into(),
                template_id: "t".into(),
                template_name: "T".into(),
                engine: Engine::Native,
                checks: vec![],
            },
        }
    }

    #[test]
    fn only_the_servers_signature_on_this_agents_fresh_job_opens() {
        let server = AgentKey::generate();
        let signed = SignedJob::sign(&job(), &server);
        let public = server.public_hex();
        assert_eq!(
            signed.open(&public, "agent-1", 2000),
            Ok(Opened::Job(Box::new(job())))
        );

        let forged = SignedJob::sign(&job(), &AgentKey::generate());
        assert_eq!(
            forged.open(&public, "agent-1", 2000),
            Err(Refusal::BadSignature)
        );
        let tampered = SignedJob {
            payload: signed.payload.replace("scan-1", "scan-2"),
            ..signed.clone()
        };
        assert_eq!(
            tampered.open(&public, "agent-1", 2000),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            signed.open(&public, "agent-2", 2000),
            Err(Refusal::NotForThisAgent)
        );
        assert_eq!(
            signed.open(&public, "agent-1", 1000 + MAX_JOB_AGE_SECS + 1),
            Err(Refusal::StaleJob)
        );
    }

    #[test]
    fn a_signed_job_of_an_unknown_kind_is_unreadable_not_refused() {
        let server = AgentKey::generate();
        let payload = r#"{"id":"j","agent_id":"a","issued_at":5,"type":"reboot"}"#.to_owned();
        let signed = SignedJob {
            id: "j".into(),
            signature: server.sign(&signed_bytes(&payload)),
            payload,
        };
        match signed.open(&server.public_hex(), "a", 5) {
            Ok(Opened::Unreadable(reason)) => assert!(reason.contains("reboot"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
