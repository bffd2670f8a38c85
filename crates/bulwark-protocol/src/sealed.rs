//! Secrets sealed for one agent (the passwords of user jobs). The server never keeps such a
//! secret in clear: it seals it for the host's agent as the job is created, so the jobs table,
//! the logs and the job's answer only ever hold the sealed form.
//!
//! The agent already has a key pair, the Ed25519 key that signs its requests; its X25519 form
//! (the same curve, in Montgomery coordinates) receives sealed secrets, so no key is added to
//! enrollment. Sealing is ephemeral-static X25519, HKDF-SHA256 over the shared point and both
//! public keys, then AES-256-GCM with the job's id and field as associated data: a sealed
//! value opens only for that agent, in that job, in that field. A fresh ephemeral key per seal
//! makes every AES key single-use, so a fixed nonce is safe.

use bulwark_core::job::SealedSecret;
use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::VerifyingKey;
use rand::RngCore;
use ring::aead::{self, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;

use crate::signing::AgentKey;

const INFO: &[u8] = b"bulwark sealed secret v1";

/// What a sealed secret is bound to: the job and the field that carries it.
pub fn context(job_id: &str, field: &str) -> String {
    format!("{job_id}/{field}")
}

fn aes_key(
    shared: &MontgomeryPoint,
    ephemeral: &MontgomeryPoint,
    recipient: &MontgomeryPoint,
) -> LessSafeKey {
    let mut salt = Vec::with_capacity(64);
    salt.extend_from_slice(ephemeral.as_bytes());
    salt.extend_from_slice(recipient.as_bytes());
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &salt).extract(shared.as_bytes());
    let mut key = [0u8; 32];
    prk.expand(&[INFO], &AES_256_GCM)
        .and_then(|okm| okm.fill(&mut key))
        .expect("32 bytes is AES-256-GCM's key length");
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("a 32-byte key"))
}

/// An all-zero shared point means the other side's key was of small order: refuse it.
fn contributory(shared: &MontgomeryPoint) -> Result<(), String> {
    match shared.as_bytes().iter().all(|b| *b == 0) {
        true => Err("the key is of small order".into()),
        false => Ok(()),
    }
}

/// Seals `secret` for the agent whose Ed25519 public key (hex) is `agent_public_key`.
pub fn seal(agent_public_key: &str, context: &str, secret: &[u8]) -> Result<SealedSecret, String> {
    let bytes: [u8; 32] = hex::decode(agent_public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the agent's public key is not 32 bytes of hex")?;
    let recipient = VerifyingKey::from_bytes(&bytes)
        .map_err(|_| "the agent's public key is not a curve point".to_owned())?
        .to_montgomery();
    let mut ephemeral_secret = [0u8; 32];
    rand::rng().fill_bytes(&mut ephemeral_secret);
    let ephemeral = MontgomeryPoint::mul_base_clamped(ephemeral_secret);
    let shared = recipient.mul_clamped(ephemeral_secret);
    contributory(&shared)?;
    let mut sealed = secret.to_vec();
    aes_key(&shared, &ephemeral, &recipient)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key([0; aead::NONCE_LEN]),
            Aad::from(context.as_bytes()),
            &mut sealed,
        )
        .map_err(|_| "sealing failed".to_owned())?;
    Ok(SealedSecret {
        ephemeral: hex::encode(ephemeral.as_bytes()),
        ciphertext: hex::encode(sealed),
    })
}

impl AgentKey {
    /// Opens a secret sealed for this key in `context`.
    pub fn open_sealed(&self, sealed: &SealedSecret, context: &str) -> Result<Vec<u8>, String> {
        let ephemeral: [u8; 32] = hex::decode(&sealed.ephemeral)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the sealed secret's key is not 32 bytes of hex")?;
        let ephemeral = MontgomeryPoint(ephemeral);
        let mut data =
            hex::decode(&sealed.ciphertext).map_err(|_| "the sealed secret is not hex")?;
        let shared = ephemeral.mul_clamped(self.signing_key().to_scalar_bytes());
        contributory(&shared)?;
        let recipient = self.signing_key().verifying_key().to_montgomery();
        let plain = aes_key(&shared, &ephemeral, &recipient)
            .open_in_place(
                Nonce::assume_unique_for_key([0; aead::NONCE_LEN]),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| {
                "the sealed secret does not open with this agent's key in this job".to_owned()
            })?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_agent_opens_it_and_only_in_its_own_job_and_field() {
        let agent = AgentKey::generate();
        let sealed = seal(
            &agent.public_hex(),
            &context("job-1", "password"),
            b"s3cret!",
        )
        .unwrap();
        assert!(!sealed.ciphertext.contains(&hex::encode(b"s3cret!")));
        assert_eq!(
            agent
                .open_sealed(&sealed, &context("job-1", "password"))
                .unwrap(),
            b"s3cret!"
        );
        assert!(
            agent
                .open_sealed(&sealed, &context("job-2", "password"))
                .is_err()
        );
        assert!(
            AgentKey::generate()
                .open_sealed(&sealed, &context("job-1", "password"))
                .is_err()
        );
        let tampered = SealedSecret {
            ciphertext: format!("00{}", &sealed.ciphertext[2..]),
            ..sealed.clone()
        };
        assert!(
            agent
                .open_sealed(&tampered, &context("job-1", "password"))
                .is_err()
        );
    }

    #[test]
    fn every_seal_is_different() {
        let agent = AgentKey::generate();
        let a = seal(&agent.public_hex(), "c", b"same").unwrap();
        let b = seal(&agent.public_hex(), "c", b"same").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn a_small_order_ephemeral_key_is_refused() {
        let agent = AgentKey::generate();
        let sealed = SealedSecret {
            ephemeral: hex::encode([0u8; 32]),
            ciphertext: "00".repeat(24),
        };
        assert!(
            agent
                .open_sealed(&sealed, "c")
                .unwrap_err()
                .contains("small order")
        );
    }
}
