//! Agent request signatures. After enrollment every agent request carries its agent id, a
//! timestamp, a random nonce and an Ed25519 signature over the method, path, query, the
//! SHA-256 of the body and those three headers. The server checks the signature with the
//! public key the agent enrolled, refuses clocks more than [`MAX_SKEW_SECS`] off, and refuses
//! a nonce it has seen (the nonce store is the server's; see bulwark-server's agent module).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::RngCore;

pub const AGENT_ID_HEADER: &str = "x-bulwark-agent-id";
pub const TIMESTAMP_HEADER: &str = "x-bulwark-timestamp";
pub const NONCE_HEADER: &str = "x-bulwark-nonce";
pub const SIGNATURE_HEADER: &str = "x-bulwark-signature";

/// How far an agent's clock may be from the server's.
pub const MAX_SKEW_SECS: i64 = 300;

/// An Ed25519 key pair: the agent's (requests) or the server's (jobs).
#[derive(Clone)]
pub struct AgentKey(SigningKey);

impl std::fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AgentKey(public {})", self.public_hex())
    }
}

impl AgentKey {
    pub fn generate() -> Self {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        AgentKey(SigningKey::from_bytes(&secret))
    }

    /// The secret half as hex, for the key file only.
    pub fn secret_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    pub fn from_secret_hex(text: &str) -> Result<Self, String> {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .map_err(|e| format!("the key is not hex: {e}"))?
            .try_into()
            .map_err(|_| "the key is not 32 bytes".to_owned())?;
        Ok(AgentKey(SigningKey::from_bytes(&bytes)))
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.0
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().to_bytes())
    }

    pub fn sign(&self, message: &[u8]) -> String {
        hex::encode(self.0.sign(message).to_bytes())
    }

    /// Signs a request made now (`timestamp`, Unix seconds) with a fresh nonce.
    pub fn sign_request(
        &self,
        agent_id: &str,
        request: &RequestParts,
        timestamp: i64,
    ) -> SignedHeaders {
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        let nonce = hex::encode(nonce);
        let signature = self.sign(&canonical(request, agent_id, timestamp, &nonce));
        SignedHeaders {
            agent_id: agent_id.to_owned(),
            timestamp,
            nonce,
            signature,
        }
    }
}

/// Checks `signature` (hex) over `message` with `public_key` (hex).
pub fn verify(public_key: &str, message: &[u8], signature: &str) -> Result<(), Refusal> {
    let key: [u8; 32] = hex::decode(public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Refusal::BadKey)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| Refusal::BadKey)?;
    if key.is_weak() {
        return Err(Refusal::BadKey);
    }
    let signature: [u8; 64] = hex::decode(signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Refusal::BadSignature)?;
    // Strict verification refuses the malleable and small-order forms a lenient check lets
    // through (with a weak key, one signature would verify for every message).
    key.verify_strict(message, &Signature::from_bytes(&signature))
        .map_err(|_| Refusal::BadSignature)
}

/// Checks that a public key (hex) is a usable Ed25519 key: a point on the curve that is not
/// of small order (for such a key one signature verifies every message).
pub fn valid_public_key(public_key: &str) -> bool {
    hex::decode(public_key)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .is_some_and(|k| !k.is_weak())
}

/// The parts of a request that a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The raw query string without `?`; empty when there is none.
    pub query: &'a str,
    pub body: &'a [u8],
}

/// The headers a signed request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub agent_id: String,
    pub timestamp: i64,
    pub nonce: String,
    pub signature: String,
}

impl SignedHeaders {
    pub fn pairs(&self) -> [(&'static str, String); 4] {
        [
            (AGENT_ID_HEADER, self.agent_id.clone()),
            (TIMESTAMP_HEADER, self.timestamp.to_string()),
            (NONCE_HEADER, self.nonce.clone()),
            (SIGNATURE_HEADER, self.signature.clone()),
        ]
    }

    /// Reads the four headers through `get` (a header map lookup).
    pub fn read<'h>(get: impl Fn(&str) -> Option<&'h str>) -> Result<Self, Refusal> {
        let need = |name: &'static str| get(name).ok_or(Refusal::MissingHeader(name));
        let timestamp = need(TIMESTAMP_HEADER)?;
        let nonce = need(NONCE_HEADER)?;
        if !(16..=64).contains(&nonce.len()) || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Refusal::BadNonce);
        }
        Ok(SignedHeaders {
            agent_id: need(AGENT_ID_HEADER)?.to_owned(),
            timestamp: timestamp.parse().map_err(|_| Refusal::BadTimestamp)?,
            nonce: nonce.to_ascii_lowercase(),
            signature: need(SIGNATURE_HEADER)?.to_owned(),
        })
    }

    /// Checks the clock and the signature; the nonce's freshness is the caller's to check.
    pub fn verify(
        &self,
        public_key: &str,
        request: &RequestParts,
        now: i64,
    ) -> Result<(), Refusal> {
        let skew = (now - self.timestamp).abs();
        if skew > MAX_SKEW_SECS {
            return Err(Refusal::ClockSkew {
                secs: now - self.timestamp,
            });
        }
        verify(
            public_key,
            &canonical(request, &self.agent_id, self.timestamp, &self.nonce),
            &self.signature,
        )
    }
}

/// Why a signed request (or a signed job) was refused; the text is the 401's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the request has no {0} header")]
    MissingHeader(&'static str),
    #[error("the timestamp header is not a number of seconds")]
    BadTimestamp,
    #[error("the nonce header must be 16 to 64 hex digits")]
    BadNonce,
    #[error(
        "the agent's clock is {secs} s off the server's (at most 300 s are allowed); fix the host's time"
    )]
    ClockSkew { secs: i64 },
    #[error("the signature does not match the request and the agent's key")]
    BadSignature,
    #[error("the enrolled public key is not an Ed25519 key")]
    BadKey,
    #[error("this nonce was already used: the request is a replay")]
    Replayed,
    #[error("the job was signed for another agent")]
    NotForThisAgent,
    #[error("the job was signed more than a day ago")]
    StaleJob,
    #[error(
        "this agent is not enrolled (it may have been removed); enroll it again with the organization secret"
    )]
    UnknownAgent,
}

/// The bytes an agent signs. Each part is on its own line and none may contain a newline
/// (methods, paths and queries cannot; the body is hashed), so no two requests share them.
pub fn canonical(request: &RequestParts, agent_id: &str, timestamp: i64, nonce: &str) -> Vec<u8> {
    format!(
        "BULWARK-AGENT-REQUEST-V1\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        request.method.to_ascii_uppercase(),
        request.path,
        request.query,
        crate::sha256_hex(request.body),
        timestamp,
        nonce,
        agent_id
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn request(body: &[u8]) -> RequestParts<'_> {
        RequestParts {
            method: "POST",
            path: "/api/v1/agent/heartbeat",
            query: "",
            body,
        }
    }

    #[test]
    fn a_signed_request_verifies_and_any_change_breaks_it() {
        let key = AgentKey::generate();
        let signed = key.sign_request("agent-1", &request(b"{}"), NOW);
        assert_eq!(
            signed.verify(&key.public_hex(), &request(b"{}"), NOW + 10),
            Ok(())
        );

        let other = AgentKey::generate();
        let changed = [
            (request(b"{ }"), signed.clone(), key.public_hex()),
            (
                RequestParts {
                    path: "/api/v1/agent/inventory",
                    ..request(b"{}")
                },
                signed.clone(),
                key.public_hex(),
            ),
            (
                RequestParts {
                    query: "wait=1",
                    ..request(b"{}")
                },
                signed.clone(),
                key.public_hex(),
            ),
            (
                RequestParts {
                    method: "GET",
                    ..request(b"{}")
                },
                signed.clone(),
                key.public_hex(),
            ),
            (
                request(b"{}"),
                SignedHeaders {
                    agent_id: "agent-2".into(),
                    ..signed.clone()
                },
                key.public_hex(),
            ),
            (
                request(b"{}"),
                SignedHeaders {
                    nonce: "00".repeat(16),
                    ..signed.clone()
                },
                key.public_hex(),
            ),
            (
                request(b"{}"),
                SignedHeaders {
                    timestamp: NOW + 1,
                    ..signed.clone()
                },
                key.public_hex(),
            ),
            (request(b"{}"), signed.clone(), other.public_hex()),
        ];
        for (req, headers, public) in changed {
            assert_eq!(
                headers.verify(&public, &req, NOW),
                Err(Refusal::BadSignature),
                "{req:?} {headers:?}"
            );
        }
    }

    #[test]
    fn clocks_more_than_five_minutes_off_are_refused() {
        let key = AgentKey::generate();
        for (signed_at, ok) in [
            (NOW - 300, true),
            (NOW + 300, true),
            (NOW - 301, false),
            (NOW + 3600, false),
        ] {
            let signed = key.sign_request("a", &request(b""), signed_at);
            let got = signed.verify(&key.public_hex(), &request(b""), NOW);
            assert_eq!(got.is_ok(), ok, "{signed_at}: {got:?}");
            if !ok {
                assert!(matches!(got, Err(Refusal::ClockSkew { .. })));
            }
        }
    }

    #[test]
    fn headers_are_read_and_checked() {
        let key = AgentKey::generate();
        let signed = key.sign_request("a", &request(b""), NOW);
        let pairs = signed.pairs();
        let read =
            SignedHeaders::read(|n| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str()));
        assert_eq!(read, Ok(signed));
        let missing = SignedHeaders::read(|n| (n != NONCE_HEADER).then_some("1"));
        assert_eq!(missing, Err(Refusal::MissingHeader(NONCE_HEADER)));
        let bad_nonce = SignedHeaders::read(|n| Some(if n == NONCE_HEADER { "zz" } else { "1" }));
        assert_eq!(bad_nonce, Err(Refusal::BadNonce));
    }

    #[test]
    fn keys_round_trip_through_hex_and_debug_hides_the_secret() {
        let key = AgentKey::generate();
        let again = AgentKey::from_secret_hex(&key.secret_hex()).unwrap();
        assert_eq!(again.public_hex(), key.public_hex());
        assert!(!format!("{key:?}").contains(&key.secret_hex()));
        assert!(valid_public_key(&key.public_hex()));
        assert!(!valid_public_key("abcd"));
        // Small-order points: the identity, and a point of order 8 (its y encoded).
        let identity = format!("01{}", "00".repeat(31));
        let order_eight = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a";
        for weak in [identity.as_str(), order_eight] {
            assert!(!valid_public_key(weak), "{weak} is of small order");
            // With the identity key, the all-identity signature (R = identity, s = 0) would
            // verify any message under a lenient check.
            let constant = format!("{identity}{}", "00".repeat(32));
            assert!(verify(weak, b"any message", &constant).is_err());
        }
        assert!(AgentKey::from_secret_hex("zz").is_err());
    }
}
