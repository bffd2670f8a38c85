//! An SCAP source data stream as an administrator uploads it: read, listed (benchmarks,
//! profiles with their resolved rules) and every profile turned into a template, as the
//! import does. Errors are answers; panics are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(ds) = bulwark_scap::read_datastream(data) else {
        return;
    };
    let Ok(contents) = bulwark_scap::contents(&ds) else {
        return;
    };
    for profile in contents.benchmarks.iter().flat_map(|b| &b.profiles) {
        let _ = bulwark_scap::profile_template(&ds, &profile.id, "fuzz-ds.xml");
    }
});
