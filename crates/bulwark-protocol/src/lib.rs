//! What the agent and the server say to each other under `/api/v1/agent/`: the request and
//! answer bodies ([`wire`]), the signature every agent request carries after enrollment
//! ([`signing`]), and the server's signature on every job it hands out ([`jobs`]). Both sides
//! build the signed bytes with the same functions from this crate, so they cannot disagree.

pub mod inventory;
pub mod jobs;
pub mod sealed;
pub mod signing;
pub mod wire;

pub use jobs::{Job, JobKind, SignedJob};
pub use signing::{AgentKey, Refusal, SignedHeaders};

/// Agent ids are chosen by the agent; they become file names and URL parts, so only plain
/// identifiers are accepted: 1–64 characters of ASCII letters, digits, `-`, `_` and `.`, not
/// starting with a dot or dash.
pub fn valid_agent_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn agent_ids() {
        for ok in [
            "6f1c2d1e-8b1a-4c53-9d2e-7f0a1b2c3d4e",
            "web01",
            "_x",
            "a.b-c_d",
        ] {
            assert!(super::valid_agent_id(ok), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            ".hidden",
            "-x",
            "../etc",
            "a/b",
            "a b",
            "ä",
            "x\n",
            long.as_str(),
        ] {
            assert!(!super::valid_agent_id(bad), "{bad:?}");
        }
    }
}
