//! The JSON bodies the server accepts from agents, the first byte choosing which, and the host
//! actions jobs carry to agents. A body either parses or is refused; what parses encodes back
//! to an equal body (the agent's own encoding of it is accepted), inventory categories hash
//! and parse as the server does, and an action's checks and description never fail.
#![no_main]

use bulwark_core::HostAction;
use bulwark_protocol::wire::{
    EnrollRequest, FailRequest, HeartbeatRequest, InventoryRequest, JobReport, ResultsRequest,
};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn accepted<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    body: &[u8],
) -> Option<T> {
    let parsed: T = serde_json::from_slice(body).ok()?;
    let again: T = serde_json::from_slice(&serde_json::to_vec(&parsed).expect("encodes"))
        .expect("an accepted body, encoded again, is accepted");
    assert_eq!(parsed, again, "an accepted body changes when encoded again");
    Some(parsed)
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 7 {
        0 => {
            if let Some(req) = accepted::<EnrollRequest>(body) {
                let _ = bulwark_protocol::valid_agent_id(&req.agent_id);
                let _ = bulwark_protocol::signing::valid_public_key(&req.public_key);
            }
        }
        1 => {
            accepted::<HeartbeatRequest>(body);
        }
        2 => {
            if let Some(req) = accepted::<InventoryRequest>(body) {
                for category in req.categories.values() {
                    let _ = category.hash();
                    let _ = category.parse::<serde_json::Value>();
                }
            }
        }
        3 => {
            accepted::<ResultsRequest>(body);
        }
        4 => {
            accepted::<FailRequest>(body);
        }
        5 => {
            accepted::<JobReport>(body);
        }
        _ => {
            if let Some(action) = accepted::<HostAction>(body) {
                let _ = action.problems();
                let _ = action.describe();
                let _ = (action.job_type(), action.priority());
            }
        }
    }
});
