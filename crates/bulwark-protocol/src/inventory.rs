//! Splitting an inventory into its categories with a hash each, for differential sync: the
//! agent sends a category only when its hash differs from the one the server acknowledged.
//!
//! A category travels as the exact JSON text the agent hashed ([`CategoryJson`]), and the
//! server hashes the text it received, never a re-encoding of what it parsed: a float such as
//! a process's CPU share need not survive a parse and a print unchanged, and a hash over
//! re-encoded values refused live hosts' inventories.

use std::collections::BTreeMap;

use bulwark_core::HostInventory;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// One inventory category as JSON text, kept byte for byte as it was sent.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct CategoryJson(Box<RawValue>);

impl CategoryJson {
    /// The compact JSON of `value`.
    pub fn of(value: &impl Serialize) -> Self {
        let text = serde_json::to_string(value).expect("inventory categories serialize");
        CategoryJson(RawValue::from_string(text).expect("serde_json writes valid JSON"))
    }

    /// The JSON text, exactly as written by the sender.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// SHA-256 of the text: what the agent and the server compare.
    pub fn hash(&self) -> String {
        crate::sha256_hex(self.text().as_bytes())
    }

    /// The category read into its type.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.text())
    }
}

impl PartialEq for CategoryJson {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

/// Each category's JSON with the SHA-256 of that JSON.
pub fn categories(inventory: &HostInventory) -> BTreeMap<String, (String, CategoryJson)> {
    let serde_json::Value::Object(map) =
        serde_json::to_value(inventory).expect("an inventory serializes")
    else {
        unreachable!("HostInventory is a struct")
    };
    map.into_iter()
        .map(|(name, value)| {
            // serde_json's maps are ordered, so equal values serialize to equal bytes.
            let json = CategoryJson::of(&value);
            (name, (json.hash(), json))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use bulwark_core::inventory::{CATEGORIES, Process};
    use proptest::prelude::*;

    use super::*;
    use crate::wire::InventoryRequest;

    #[test]
    fn the_categories_are_the_inventorys_fields() {
        let split = categories(&HostInventory::default());
        let mut names: Vec<&str> = split.keys().map(String::as_str).collect();
        let mut expected = CATEGORIES.to_vec();
        names.sort();
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn a_change_in_one_category_changes_only_its_hash() {
        let before = categories(&HostInventory::default());
        let mut inventory = HostInventory::default();
        inventory.system.kernel = "6.1.0".into();
        let after = categories(&inventory);
        let changed: Vec<&String> = before
            .keys()
            .filter(|k| before[*k].0 != after[*k].0)
            .collect();
        assert_eq!(changed, ["system"]);
    }

    #[test]
    fn text_that_a_reencoding_would_change_keeps_its_hash() {
        // Spacing, escapes and number spellings that a parse-and-print normalizes away.
        let sent = r#"{"hashes":{},"categories":{"processes":[ {"pid":1,"name":"caf\u00e9","user":"","cpu_percent":1.0E-7,"memory_bytes":0} ]}}"#;
        let request: InventoryRequest = serde_json::from_str(sent).unwrap();
        let json = &request.categories["processes"];
        assert_eq!(
            json.text(),
            r#"[ {"pid":1,"name":"caf\u00e9","user":"","cpu_percent":1.0E-7,"memory_bytes":0} ]"#
        );
        let reencoded = serde_json::to_string(&json.parse::<serde_json::Value>().unwrap()).unwrap();
        assert_ne!(crate::sha256_hex(reencoded.as_bytes()), json.hash());
    }

    fn process() -> impl Strategy<Value = Process> {
        (
            any::<u32>(),
            any::<String>(),
            any::<String>(),
            any::<f64>().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()),
            any::<u64>(),
        )
            .prop_map(|(pid, name, user, cpu_percent, memory_bytes)| Process {
                pid,
                name,
                user,
                cpu_percent,
                memory_bytes,
            })
    }

    proptest! {
        /// What the agent hashes is what the server hashes after the request crossed the wire,
        /// for any floats and strings.
        #[test]
        fn hashes_survive_the_wire(processes in proptest::collection::vec(process(), 0..20)) {
            let inventory = HostInventory { processes, ..Default::default() };
            let split = categories(&inventory);
            let request = InventoryRequest {
                hashes: split.iter().map(|(k, (h, _))| (k.clone(), h.clone())).collect(),
                categories: split.into_iter().map(|(k, (_, v))| (k, v)).collect(),
            };
            let body = serde_json::to_vec(&request).unwrap();
            let received: InventoryRequest = serde_json::from_slice(&body).unwrap();
            for (name, json) in &received.categories {
                prop_assert_eq!(Some(&json.hash()), received.hashes.get(name), "{}", name);
            }
            let back: Vec<Process> = received.categories["processes"].parse().unwrap();
            prop_assert_eq!(back.len(), inventory.processes.len());
        }
    }
}
