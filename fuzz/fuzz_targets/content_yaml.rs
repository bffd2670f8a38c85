//! Content YAML: a whole template file (what `bulwark-agent content lint` and `scan` load)
//! and a list of checks (what the web UI's check form sends the server). Either parses or
//! answers problems; it never panics, and what loads can be stored as JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(loaded) = bulwark_content::load_str("fuzz.yaml", text) {
        serde_json::to_string(&loaded.template).expect("a loaded template serializes");
    }
    let _ = bulwark_content::parse_check_list("fuzz.yaml", text);
});
