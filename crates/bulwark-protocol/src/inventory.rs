//! Splitting an inventory into its categories with a hash each, for differential sync: the
//! agent sends a category only when its hash differs from the one the server acknowledged.

use std::collections::BTreeMap;

use bulwark_core::HostInventory;

/// Each category's JSON value with the SHA-256 of its serialized form.
pub fn categories(inventory: &HostInventory) -> BTreeMap<String, (String, serde_json::Value)> {
    let serde_json::Value::Object(map) =
        serde_json::to_value(inventory).expect("an inventory serializes")
    else {
        unreachable!("HostInventory is a struct")
    };
    map.into_iter()
        .map(|(name, value)| {
            // serde_json's maps are ordered, so equal values serialize to equal bytes.
            let hash = crate::sha256_hex(value.to_string().as_bytes());
            (name, (hash, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use bulwark_core::inventory::CATEGORIES;

    use super::*;

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
}
