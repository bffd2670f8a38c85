//! Request and job signatures on arbitrary input. Headers, keys and signatures from anyone
//! never panic and never verify by chance; a real key's signature verifies, and any change
//! to what it covers breaks it; a job that verifies but holds anything is read safely.
#![no_main]

use arbitrary::Arbitrary;
use bulwark_protocol::SignedJob;
use bulwark_protocol::signing::{self, AgentKey, RequestParts, SignedHeaders, canonical};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_800_000_000;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a str,
    body: &'a [u8],
    agent_id: &'a str,
    timestamp: &'a str,
    nonce: &'a str,
    signature: &'a str,
    public_key: &'a str,
    seed: [u8; 32],
    flip: u16,
    job: &'a str,
}

fuzz_target!(|i: Input| {
    let request = RequestParts {
        method: i.method,
        path: i.path,
        query: i.query,
        body: i.body,
    };
    // What a stranger sends: read like the server reads headers, checked against any key.
    let header = |name: &str| match name {
        signing::AGENT_ID_HEADER => Some(i.agent_id),
        signing::TIMESTAMP_HEADER => Some(i.timestamp),
        signing::NONCE_HEADER => Some(i.nonce),
        signing::SIGNATURE_HEADER => Some(i.signature),
        _ => None,
    };
    if let Ok(headers) = SignedHeaders::read(header) {
        let _ = headers.verify(i.public_key, &request, NOW);
    }
    let _ = signing::valid_public_key(i.public_key);

    // A real key: its signature verifies; a flipped bit of the body, or of the signature, or
    // another path, does not.
    let key = AgentKey::from_secret_hex(
        &i.seed
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    )
    .expect("32 bytes are a key");
    let nonce: String = i.seed[..16].iter().map(|b| format!("{b:02x}")).collect();
    let signature = key.sign(&canonical(&request, i.agent_id, NOW, &nonce));
    let signed = SignedHeaders {
        agent_id: i.agent_id.to_owned(),
        timestamp: NOW,
        nonce,
        signature: signature.clone(),
    };
    assert_eq!(signed.verify(&key.public_hex(), &request, NOW), Ok(()));
    if !i.body.is_empty() {
        let mut body = i.body.to_vec();
        let at = usize::from(i.flip) % body.len();
        body[at] ^= 1 << (i.flip % 8);
        let changed = RequestParts {
            body: &body,
            ..request
        };
        assert!(
            signed.verify(&key.public_hex(), &changed, NOW).is_err(),
            "a changed body verified"
        );
    }
    let other_path = format!("{}/", i.path);
    let moved = RequestParts {
        path: &other_path,
        ..request
    };
    assert!(
        signed.verify(&key.public_hex(), &moved, NOW).is_err(),
        "another path verified"
    );
    let mut bytes: Vec<u8> = (0..signature.len() / 2)
        .map(|n| u8::from_str_radix(&signature[2 * n..2 * n + 2], 16).expect("hex"))
        .collect();
    let at = usize::from(i.flip) % bytes.len();
    bytes[at] ^= 1 << (i.flip % 8);
    let forged = SignedHeaders {
        signature: bytes.iter().map(|b| format!("{b:02x}")).collect(),
        ..signed
    };
    assert!(
        forged.verify(&key.public_hex(), &request, NOW).is_err(),
        "a changed signature verified"
    );

    // Jobs: as sent by anyone, and as signed by the server's key over any payload (the
    // agent then reads a payload it trusts; it must still not panic on it).
    if let Ok(job) = serde_json::from_str::<SignedJob>(i.job) {
        let _ = job.open(i.public_key, i.agent_id, NOW);
    }
    let trusted = SignedJob {
        id: i.agent_id.to_owned(),
        // As `SignedJob::sign` frames a payload.
        signature: key.sign(format!("BULWARK-JOB-V1\n{}", i.job).as_bytes()),
        payload: i.job.to_owned(),
    };
    let _ = trusted.open(&key.public_hex(), i.agent_id, NOW);
});
