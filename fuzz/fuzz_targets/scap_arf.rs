//! The ARF document an agent uploads after an oscap scan: the server reads it whatever a
//! compromised agent sends.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bulwark_scap::read_arf_results(data);
});
