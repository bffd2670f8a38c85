//! What the agent's end-to-end tests share: the fixture roots of fixtures/hosts.

use std::path::Path;

use bulwark_core::template::TestCase;
use bulwark_engine::fixture::FixtureRoot;

/// The fixture root of fixtures/hosts/NAME.yaml, built in a temporary directory.
pub fn fixture(name: &str) -> FixtureRoot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/hosts")
        .join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let case: TestCase =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    FixtureRoot::new(&case).unwrap()
}
