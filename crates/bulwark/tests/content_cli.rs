//! `bulwark content import-scap`: lists a data stream's profiles, imports one into an
//! organization, and refuses a bad file with the line and without touching the database.

mod support;

use std::process::Command;

use support::{bulwark, field};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../bulwark-scap/tests/fixtures"
);
const BASE: &str = "xccdf_com.example.bulwark_profile_base";

#[test]
fn import_scap_lists_then_imports_and_refuses_bad_files() {
    let small = format!("{FIXTURES}/small-ds.xml");
    let listed = bulwark(&["content", "import-scap", &small], None);
    assert!(listed.contains(BASE), "{listed}");
    assert!(
        listed.contains("xccdf_com.example.bulwark_profile_strict"),
        "{listed}"
    );

    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/bulwark.db", dir.path().display());
    let org = bulwark(
        &[
            "admin",
            "--database-url",
            &db,
            "org",
            "create",
            "--name",
            "Acme",
        ],
        None,
    );
    let org_id = field(&org, "org_id");
    let imported = bulwark(
        &[
            "content",
            "import-scap",
            &small,
            "--database-url",
            &db,
            "--profile",
            BASE,
            "--org",
            &org_id,
        ],
        None,
    );
    assert!(!field(&imported, "template_id").is_empty(), "{imported}");
    assert_ne!(field(&imported, "rules"), "0", "{imported}");

    let dtd = format!("{FIXTURES}/dtd.xml");
    let refused = Command::new(env!("CARGO_BIN_EXE_bulwark"))
        .args([
            "content",
            "import-scap",
            &dtd,
            "--database-url",
            &db,
            "--profile",
            BASE,
            "--org",
            &org_id,
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("dtd.xml") && stderr.contains("DTDs are refused (line"),
        "{stderr}"
    );
}
