//! The INI file `secedit /export /cfg FILE` writes: `[Section]` lines and `Key = value` lines
//! (`Key=value` in `[Registry Values]`). Sections and keys compare case-insensitively.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct SecurityPolicy {
    /// lowercase section -> lowercase key -> value text
    sections: HashMap<String, HashMap<String, String>>,
}

impl SecurityPolicy {
    pub fn parse(text: &str) -> SecurityPolicy {
        let mut policy = SecurityPolicy::default();
        let mut section = String::new();
        for raw in text.lines() {
            let line = raw.trim().trim_start_matches('\u{FEFF}');
            if line.is_empty() || line.starts_with(';') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.trim().to_lowercase();
                continue;
            }
            if let Some((key, value)) = line.split_once('=') {
                policy
                    .sections
                    .entry(section.clone())
                    .or_default()
                    .entry(key.trim().to_lowercase())
                    .or_insert_with(|| value.trim().to_string());
            }
        }
        policy
    }

    /// The collected value of a key: the text after `=` without surrounding quotes; for
    /// `Privilege Rights`, the accounts (SIDs without their `*`) sorted and joined with `,`.
    /// `None` when the key is not in the file, or a right is granted to no one.
    pub fn value(&self, section: &str, key: &str) -> Option<String> {
        let raw = self
            .sections
            .get(&section.trim().to_lowercase())?
            .get(&key.trim().to_lowercase())?;
        if section.trim().eq_ignore_ascii_case("Privilege Rights") {
            let mut accounts: Vec<String> = raw
                .split(',')
                .map(|a| a.trim().trim_start_matches('*').to_string())
                .filter(|a| !a.is_empty())
                .collect();
            if accounts.is_empty() {
                return None;
            }
            accounts.sort_by_key(|a| a.to_uppercase());
            return Some(accounts.join(","));
        }
        let unquoted = raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(raw);
        Some(unquoted.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_privilege_lists() {
        let text = "\u{FEFF}[Unicode]\r\nUnicode=yes\r\n[System Access]\r\nMinimumPasswordLength = 14\r\nNewAdministratorName = \"Administrator\"\r\n[Privilege Rights]\r\nSeNetworkLogonRight = *S-1-5-32-555,*S-1-5-11,*S-1-5-32-544\r\nSeDenyServiceLogonRight = \r\nSeBatchLogonRight = Guest,*S-1-5-32-544\r\n[Registry Values]\r\nMACHINE\\System\\CurrentControlSet\\Control\\Lsa\\LimitBlankPasswordUse=4,1\r\n";
        let p = SecurityPolicy::parse(text);
        assert_eq!(
            p.value("system access", "minimumpasswordlength").as_deref(),
            Some("14")
        );
        assert_eq!(
            p.value("System Access", "NewAdministratorName").as_deref(),
            Some("Administrator")
        );
        assert_eq!(
            p.value("Privilege Rights", "SeNetworkLogonRight")
                .as_deref(),
            Some("S-1-5-11,S-1-5-32-544,S-1-5-32-555")
        );
        assert_eq!(p.value("Privilege Rights", "SeDenyServiceLogonRight"), None);
        assert_eq!(
            p.value("Privilege Rights", "SeBatchLogonRight").as_deref(),
            Some("Guest,S-1-5-32-544")
        );
        assert_eq!(
            p.value(
                "Registry Values",
                r"MACHINE\System\CurrentControlSet\Control\Lsa\LimitBlankPasswordUse"
            )
            .as_deref(),
            Some("4,1")
        );
        assert_eq!(p.value("System Access", "LockoutBadCount"), None);
        assert_eq!(p.value("Kerberos Policy", "MaxTicketAge"), None);
    }
}
