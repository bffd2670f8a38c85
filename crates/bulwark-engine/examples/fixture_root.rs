//! Writes a fixture root to a directory, for benchmarks and trying scans by hand:
//! `cargo run -p bulwark-engine --example fixture_root -- fixtures/hosts/debian12.yaml /tmp/debian12`

use bulwark_core::template::TestCase;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, spec, target] = args.as_slice() else {
        return Err("usage: fixture_root HOST.yaml TARGET_DIR".into());
    };
    let case: TestCase = serde_saphyr::from_str(&std::fs::read_to_string(spec)?)?;
    std::fs::create_dir_all(target)?;
    bulwark_engine::fixture::build(std::path::Path::new(target), &case)?;
    println!("{target}");
    Ok(())
}
