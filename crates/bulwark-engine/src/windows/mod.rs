//! Windows hosts as recorded tool outputs: an evidence directory under the scan root
//! (`bulwark-evidence/windows/`) holding what `reg query`, `secedit /export`, `auditpol /get`
//! and `sc qc` printed. Parsing and judging these is plain Rust, tested on any platform; on a
//! live Windows machine `live::collect` runs the tools into such a directory first.

pub mod auditpol;
pub mod inventory;
pub mod live;
pub mod registry;
pub mod secedit;
pub mod services;

use bulwark_core::{HostOs, OsKind};

use crate::host::HostRoot;

/// The evidence directory, as a host path under the scan root.
pub const EVIDENCE_DIR: &str = "/bulwark-evidence/windows";
/// `reg query "HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion"` and `reg query` of
/// [`COMPUTER_NAME_KEY`]: identifies the system and names it.
pub const OS_FILE: &str = "os.txt";
/// Concatenated `reg query KEY /s` outputs.
pub const REGISTRY_FILE: &str = "reg-query.txt";
/// `secedit /export /cfg FILE` (UTF-16LE with a byte order mark, as secedit writes it).
pub const SECEDIT_FILE: &str = "secedit.inf";
/// `auditpol /get /category:* /r`.
pub const AUDITPOL_FILE: &str = "auditpol.csv";
/// Concatenated `sc qc NAME` outputs.
pub const SERVICES_FILE: &str = "services.txt";
/// For the inventory: `reg query KEY /s` of both [`inventory::UNINSTALL_KEYS`].
pub const SOFTWARE_FILE: &str = "software.txt";
/// For the inventory: `sc queryex type= service state= all`.
pub const SERVICE_STATES_FILE: &str = "service-states.txt";
/// For the inventory: `reg query` of [`inventory::SERVICES_KEY`] `/s /v Start`.
pub const SERVICE_STARTS_FILE: &str = "service-starts.txt";

/// The key that identifies the system in `os.txt`.
pub const VERSION_KEY: &str = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion";

/// The key whose `ComputerName` value is the host's name (also recorded in `os.txt`).
pub const COMPUTER_NAME_KEY: &str =
    r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName";

/// The host's name from `os.txt`, when it was recorded.
pub fn computer_name(host: &HostRoot) -> Option<String> {
    let text = decode(&host.read_bytes(&evidence_path(OS_FILE)).ok()??);
    registry::Registry::parse(&text)
        .value(COMPUTER_NAME_KEY, "ComputerName")
        .map(|v| v.text().trim().to_string())
        .filter(|n| !n.is_empty())
}

/// The host path of one evidence file.
pub fn evidence_path(file: &str) -> String {
    format!("{EVIDENCE_DIR}/{file}")
}

/// Decodes a tool output: UTF-16LE (with a byte order mark, or recognisable by its zero high
/// bytes, as Windows PowerShell's `>` writes it) or UTF-8 (invalid bytes replaced, as console
/// code pages are not UTF-8).
pub fn decode(bytes: &[u8]) -> String {
    let utf16 = |b: &[u8]| {
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let odd_zeros = bytes.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    if bytes.len() >= 4 && bytes.len().is_multiple_of(2) && odd_zeros * 2 >= bytes.len() / 2 {
        return utf16(bytes);
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads an evidence file; an error when it is missing (the evidence is incomplete, which is
/// not the same as a setting being absent).
pub fn read_evidence(host: &HostRoot, file: &str) -> Result<String, String> {
    let path = evidence_path(file);
    match host.read_bytes(&path) {
        Ok(Some(bytes)) => Ok(decode(&bytes)),
        Ok(None) => Err(format!("{path} is missing from the Windows evidence")),
        Err(e) => Err(e.to_string()),
    }
}

/// Identifies a Windows evidence root from `os.txt`; `None` when there is none.
pub fn detect(host: &HostRoot) -> Option<HostOs> {
    let text = decode(&host.read_bytes(&evidence_path(OS_FILE)).ok()??);
    let reg = registry::Registry::parse(&text);
    let get = |name: &str| {
        reg.value(VERSION_KEY, name)
            .map(|v| v.text())
            .unwrap_or_default()
    };
    let mut product = get("ProductName");
    let build: u32 = get("CurrentBuildNumber")
        .parse()
        .or_else(|_| get("CurrentBuild").parse())
        .unwrap_or(0);
    if product.is_empty() {
        return None;
    }
    // Windows 11 still calls itself "Windows 10" in ProductName; its builds start at 22000.
    let server = get("InstallationType").eq_ignore_ascii_case("server")
        || product.to_lowercase().contains("server");
    if !server && build >= 22000 && product.contains("Windows 10") {
        product = product.replace("Windows 10", "Windows 11");
    }
    let version_id = product
        .split_whitespace()
        .find(|w| w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| build.to_string());
    Some(HostOs {
        kind: OsKind::Windows,
        id: if server { "windows-server" } else { "windows" }.to_string(),
        id_like: vec!["windows".to_string()],
        version_id,
        pretty_name: product,
    })
}

/// Splits a comma-separated line, honouring double quotes (`"a,b",c`).
pub(crate) fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_outputs_decode_from_utf16_and_utf8() {
        let text = "[Unicode]\r\nUnicode=yes\r\n";
        let mut bom = vec![0xFF, 0xFE];
        bom.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(decode(&bom), text);
        let bare: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(decode(&bare), text);
        assert_eq!(decode(text.as_bytes()), text);
        assert_eq!(decode(b"\xEF\xBB\xBFabc"), "abc");
        assert_eq!(decode(b"caf\xe9"), "caf\u{FFFD}");
    }

    #[test]
    fn csv_fields_honour_quotes() {
        assert_eq!(split_csv(r#"a,"b,c",,"d""e""#), ["a", "b,c", "", "d\"e"]);
    }
}
