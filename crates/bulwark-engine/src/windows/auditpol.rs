//! `auditpol /get /category:* /r`: CSV with the header `Machine Name,Policy Target,
//! Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting`, one row per subcategory.

use std::collections::HashMap;

use super::split_csv;

#[derive(Debug, Default)]
pub struct AuditPolicy {
    /// lowercase subcategory -> inclusion setting
    settings: HashMap<String, String>,
}

impl AuditPolicy {
    /// Parses the CSV; an error when there is no header with the two columns read.
    pub fn parse(text: &str) -> Result<AuditPolicy, String> {
        let mut lines = text
            .lines()
            .map(|l| l.trim_start_matches('\u{FEFF}').trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty());
        let header = lines.next().map(split_csv).unwrap_or_default();
        let column = |name: &str| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("auditpol output has no {name:?} column"))
        };
        let (sub, inclusion) = (column("Subcategory")?, column("Inclusion Setting")?);
        let mut policy = AuditPolicy::default();
        for line in lines {
            let fields = split_csv(line);
            if let (Some(s), Some(i)) = (fields.get(sub), fields.get(inclusion)) {
                policy
                    .settings
                    .entry(s.trim().to_lowercase())
                    .or_insert_with(|| i.trim().to_string());
            }
        }
        Ok(policy)
    }

    /// The inclusion setting of a subcategory (`Success`, `Failure`, `Success and Failure`,
    /// `No Auditing`); `None` when the subcategory is not listed.
    pub fn setting(&self, subcategory: &str) -> Option<&str> {
        self.settings
            .get(&subcategory.trim().to_lowercase())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_by_subcategory() {
        let text = "\r\nMachine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting\r\nWS01,System,Credential Validation,{0CCE923F-69AE-11D9-BED3-505054503030},Success and Failure,\r\nWS01,System,\"Other Logon/Logoff Events\",{0CCE921C-69AE-11D9-BED3-505054503030},No Auditing,\r\n";
        let p = AuditPolicy::parse(text).unwrap();
        assert_eq!(
            p.setting("credential validation"),
            Some("Success and Failure")
        );
        assert_eq!(p.setting("Other Logon/Logoff Events"), Some("No Auditing"));
        assert_eq!(p.setting("Logon"), None);
        assert!(AuditPolicy::parse("").unwrap_err().contains("Subcategory"));
    }
}
