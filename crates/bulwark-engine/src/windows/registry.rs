//! `reg query KEY /s` output: a key path line (`HKEY_LOCAL_MACHINE\...`), then one indented
//! line per value (`    Name    REG_DWORD    0x1`), blank lines between keys. Keys and value
//! names compare case-insensitively, and `HKLM\` stands for `HKEY_LOCAL_MACHINE\`.

use std::collections::HashMap;

const TYPES: [&str; 11] = [
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_MULTI_SZ",
    "REG_DWORD",
    "REG_QWORD",
    "REG_BINARY",
    "REG_NONE",
    "REG_DWORD_BIG_ENDIAN",
    "REG_LINK",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTOR",
];

const HIVES: [(&str, &str); 5] = [
    ("HKLM", "HKEY_LOCAL_MACHINE"),
    ("HKCU", "HKEY_CURRENT_USER"),
    ("HKU", "HKEY_USERS"),
    ("HKCR", "HKEY_CLASSES_ROOT"),
    ("HKCC", "HKEY_CURRENT_CONFIG"),
];

/// A key path in a form that compares equal however it was written: full hive name,
/// uppercase, single backslashes, no trailing backslash.
pub fn normalize_key(key: &str) -> String {
    let key = key.trim().trim_end_matches('\\').to_uppercase();
    let (hive, rest) = key.split_once('\\').unwrap_or((&key, ""));
    let hive = HIVES
        .iter()
        .find(|(short, _)| *short == hive)
        .map(|(_, long)| *long)
        .unwrap_or(hive);
    let parts: Vec<&str> = rest.split('\\').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        hive.to_string()
    } else {
        format!("{hive}\\{}", parts.join("\\"))
    }
}

/// Whether a key names the local machine hive (the only one checks read).
pub fn is_local_machine(key: &str) -> bool {
    normalize_key(key).starts_with("HKEY_LOCAL_MACHINE\\")
}

/// One registry value as reg.exe printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub kind: String,
    pub data: String,
}

impl Value {
    /// The collected text: DWORD/QWORD in decimal, strings as they are, multi-strings joined
    /// with `,`, anything else as printed.
    pub fn text(&self) -> String {
        match self.kind.as_str() {
            "REG_DWORD" | "REG_QWORD" | "REG_DWORD_BIG_ENDIAN" => {
                let hex = self.data.trim();
                let digits = hex
                    .strip_prefix("0x")
                    .or_else(|| hex.strip_prefix("0X"))
                    .unwrap_or(hex);
                u64::from_str_radix(digits, 16)
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| hex.to_string())
            }
            "REG_MULTI_SZ" => self
                .data
                .split("\\0")
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(","),
            _ => self.data.clone(),
        }
    }
}

/// The values of one recorded key.
#[derive(Debug, Clone, Copy)]
pub struct Subkey<'a>(&'a HashMap<String, Value>);

impl Subkey<'_> {
    /// A value's text by its name (any case); `None` when it was not recorded.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0.get(&name.to_uppercase()).map(Value::text)
    }
}

/// Every key and value of the recorded outputs.
#[derive(Debug, Default)]
pub struct Registry {
    /// normalized key -> uppercase value name -> value
    keys: HashMap<String, HashMap<String, Value>>,
}

/// Splits `Name    REG_TYPE    data` (the line without its indentation). Names may hold
/// spaces, so the type is found as a known type word between four-space separators.
fn split_value_line(line: &str) -> Option<(String, Value)> {
    let mut search = 0;
    while let Some(pos) = line[search..].find("    REG_") {
        let start = search + pos;
        let rest = &line[start + 4..];
        let (kind, data) = match rest.split_once("    ") {
            Some((k, d)) => (k, d),
            None => (rest.trim_end(), ""),
        };
        if TYPES.contains(&kind) {
            return Some((
                line[..start].to_string(),
                Value {
                    kind: kind.to_string(),
                    data: data.to_string(),
                },
            ));
        }
        search = start + 4;
    }
    None
}

impl Registry {
    pub fn parse(text: &str) -> Registry {
        let mut reg = Registry::default();
        let mut current: Option<String> = None;
        for raw in text.lines() {
            let line = raw.trim_end_matches('\r');
            if line.starts_with("HKEY_") {
                let key = normalize_key(line);
                reg.keys.entry(key.clone()).or_default();
                current = Some(key);
                continue;
            }
            if line.trim().is_empty() || !line.starts_with(' ') {
                // Blank lines, "End of search", "ERROR: ..." lines.
                if !line.trim().is_empty() {
                    current = None;
                }
                continue;
            }
            let Some(key) = &current else { continue };
            if let Some((name, value)) = split_value_line(line.trim_start()) {
                reg.keys
                    .entry(key.clone())
                    .or_default()
                    .entry(name.to_uppercase())
                    .or_insert(value);
            }
        }
        reg
    }

    /// Whether the key was recorded.
    pub fn has_key(&self, key: &str) -> bool {
        self.keys.contains_key(&normalize_key(key))
    }

    /// The recorded keys directly below `key` (normalized paths), each with a lookup of its
    /// values, in path order.
    pub fn children(&self, key: &str) -> Vec<(&str, Subkey<'_>)> {
        let prefix = format!("{}\\", normalize_key(key));
        let mut found: Vec<(&str, Subkey<'_>)> = self
            .keys
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix(&prefix)
                    .is_some_and(|rest| !rest.contains('\\'))
            })
            .map(|(k, values)| (k.as_str(), Subkey(values)))
            .collect();
        found.sort_by_key(|(k, _)| *k);
        found
    }

    /// A value; `None` when the key or the value was not recorded.
    pub fn value(&self, key: &str, name: &str) -> Option<&Value> {
        self.keys
            .get(&normalize_key(key))?
            .get(&name.to_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\r
HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\r
    fDisableCdm    REG_DWORD    0x1\r
    MaxIdleTime    REG_DWORD    0xdbba0\r
    Some Name With Spaces    REG_SZ    a    b\r
    Empty    REG_SZ    \r
    Machine    REG_MULTI_SZ    System\\CurrentControlSet\\Control\\ProductOptions\\0Software\\Microsoft\\Windows NT\\CurrentVersion\r
    Big    REG_QWORD    0x100000000\r
\r
HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\\Client\r
    fEnableUsbBlockDeviceBySetupClass    REG_DWORD    0x0\r
\r
ERROR: The system was unable to find the specified registry key or value.\r
";

    #[test]
    fn values_parse_with_their_types() {
        let reg = Registry::parse(SAMPLE);
        let key = r"HKLM\software\policies\microsoft\windows nt\terminal services";
        let text = |name: &str| reg.value(key, name).map(|v| v.text());
        assert_eq!(text("fDisableCdm").as_deref(), Some("1"));
        assert_eq!(text("MAXIDLETIME").as_deref(), Some("900000"));
        assert_eq!(text("Some Name With Spaces").as_deref(), Some("a    b"));
        assert_eq!(text("Empty").as_deref(), Some(""));
        assert_eq!(
            text("Machine").as_deref(),
            Some(
                r"System\CurrentControlSet\Control\ProductOptions,Software\Microsoft\Windows NT\CurrentVersion"
            )
        );
        assert_eq!(text("Big").as_deref(), Some("4294967296"));
        assert_eq!(text("Missing"), None);
        assert!(reg.has_key(&format!("{key}\\Client\\")));
        assert!(!reg.has_key(r"HKLM\SOFTWARE\Nothing"));
    }

    #[test]
    fn keys_normalize() {
        assert_eq!(
            normalize_key(r"hklm\Software\\Policies\"),
            r"HKEY_LOCAL_MACHINE\SOFTWARE\POLICIES"
        );
        assert!(is_local_machine(r"HKEY_LOCAL_MACHINE\SYSTEM"));
        assert!(!is_local_machine(r"HKCU\Software"));
        assert!(!is_local_machine("HKLM"));
    }
}
