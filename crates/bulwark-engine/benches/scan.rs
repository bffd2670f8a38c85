//! Scan of the Debian 12 fixture root with cis-linux-l1: without the filesystem walks (the
//! normal path, no subprocess) and with them. Run: `cargo bench -p bulwark-engine`.

use std::path::Path;

use bulwark_core::Template;
use bulwark_core::template::TestCase;
use bulwark_engine::fixture::FixtureRoot;
use bulwark_engine::{HostRoot, scan};
use criterion::{Criterion, criterion_group, criterion_main};

fn fixture() -> FixtureRoot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/hosts/debian12.yaml");
    let case: TestCase = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    FixtureRoot::new(&case).unwrap()
}

fn template(with_walks: bool) -> Template {
    let mut t = bulwark_content::shipped_template("cis-linux-l1")
        .unwrap()
        .unwrap();
    if !with_walks {
        t.checks.retain(|c| c.probe.kind() != "fs_walk");
    }
    t
}

fn bench(c: &mut Criterion) {
    let root = fixture();
    let mut group = c.benchmark_group("cis-linux-l1");
    for (name, walks) in [("without walks", false), ("with walks", true)] {
        let t = template(walks);
        group.bench_function(name, |b| {
            b.iter(|| scan(HostRoot::offline(root.path()), &t, |_, _, _| {}).unwrap())
        });
    }
    group.bench_function("load one template (precompiled)", |b| {
        b.iter(|| bulwark_content::shipped_template("cis-linux-l1").unwrap())
    });
    group.bench_function("load shipped content (YAML, validated)", |b| {
        b.iter(|| bulwark_content::shipped().unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
