//! Architecture rules the compiler cannot see, checked on every test run: bulwark-core stays
//! pure (a dependency allowlist), crates depend only in the documented direction, and every
//! module opens with a `//!` comment saying what it is for.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn dependencies(krate: &str) -> Vec<String> {
    let manifest =
        std::fs::read_to_string(workspace().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let mut in_deps = false;
    let mut deps = Vec::new();
    for line in manifest.lines() {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps && let Some((name, _)) = line.split_once(['=', '.']) {
            let name = name.trim();
            if !name.is_empty() && !name.starts_with('#') {
                deps.push(name.to_string());
            }
        }
    }
    deps
}

#[test]
fn core_has_only_pure_dependencies() {
    // schemars only describes the types (the API document's schemas); it does no IO.
    let allowed = ["serde", "regex", "schemars"];
    for dep in dependencies("bulwark-core") {
        assert!(
            allowed.contains(&dep.as_str()),
            "bulwark-core must stay pure (no IO, async, sql or http); {dep} is not on the allowlist"
        );
    }
}

#[test]
fn crates_depend_in_the_documented_direction() {
    // Architecture invariant (docs/ARCHITECTURE.md): core <- (engine, content, store,
    // protocol, scap, report) <- scanner (engine + protocol: one scan job) <- (server, agent)
    // <- binaries; ssh stands alone (a transport).
    let rules: [(&str, &[&str]); 11] = [
        ("bulwark-ssh", &[]),
        (
            "bulwark-scanner",
            &["bulwark-core", "bulwark-engine", "bulwark-protocol"],
        ),
        ("bulwark-core", &[]),
        ("bulwark-engine", &["bulwark-core"]),
        ("bulwark-content", &["bulwark-core"]),
        ("bulwark-store", &["bulwark-core"]),
        ("bulwark-protocol", &["bulwark-core"]),
        ("bulwark-scap", &["bulwark-core"]),
        ("bulwark-report", &["bulwark-core"]),
        (
            "bulwark-server",
            &[
                "bulwark-core",
                "bulwark-content",
                "bulwark-store",
                "bulwark-protocol",
                "bulwark-scap",
                "bulwark-report",
                "bulwark-ssh",
                "bulwark-scanner",
            ],
        ),
        (
            "bulwark-agent",
            &[
                "bulwark-core",
                "bulwark-engine",
                "bulwark-content",
                "bulwark-protocol",
                "bulwark-scap",
                "bulwark-scanner",
            ],
        ),
    ];
    for (krate, allowed) in rules {
        for dep in dependencies(krate)
            .iter()
            .filter(|d| d.starts_with("bulwark"))
        {
            assert!(
                allowed.contains(&dep.as_str()),
                "{krate} must not depend on {dep}"
            );
        }
    }
}

#[test]
fn only_the_store_knows_sql_and_only_the_server_knows_http() {
    let crates = std::fs::read_dir(workspace().join("crates")).unwrap();
    for krate in crates.flatten() {
        let name = krate.file_name().to_string_lossy().to_string();
        let deps = dependencies(&name);
        if deps.iter().any(|d| d == "sqlx") {
            assert_eq!(
                name, "bulwark-store",
                "{name} must reach the database through bulwark-store"
            );
        }
        if deps.iter().any(|d| d == "axum" || d == "tower-http") {
            assert!(
                ["bulwark-server", "bulwark"].contains(&name.as_str()),
                "{name} must not serve HTTP; that is bulwark-server's job"
            );
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_says_what_it_is_for() {
    let mut files = Vec::new();
    rust_files(&workspace().join("crates"), &mut files);
    let undocumented: Vec<String> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "build.rs"))
        .filter(|f| {
            !std::fs::read_to_string(f)
                .unwrap()
                .trim_start()
                .starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        undocumented.is_empty(),
        "modules without a //! comment at the top:\n{}",
        undocumented.join("\n")
    );
}
