//! A Windows host's software and services for the inventory, from recorded tool outputs:
//! installed programs are the Uninstall registry keys (64- and 32-bit views) with a
//! `DisplayName`, as Apps & Features lists them; services are `sc queryex` (every service
//! with its state) joined with the `Start` value of each service's registry key.

use bulwark_core::inventory::{Service, Software};

use super::registry::Registry;

/// Where programs register themselves for Apps & Features (the second is the 32-bit view on
/// 64-bit Windows).
pub const UNINSTALL_KEYS: [&str; 2] = [
    r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall",
    r"HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
];
/// Each service's configuration, whose `Start` value is its start type.
pub const SERVICES_KEY: &str = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services";

/// Installed programs from `reg query UNINSTALL_KEY /s` outputs: entries without a
/// `DisplayName` (and system components and updates, which Apps & Features hides) are left
/// out; the same name and version from both views is listed once.
pub fn software(uninstall: &Registry) -> Vec<Software> {
    let mut found: Vec<Software> = UNINSTALL_KEYS
        .iter()
        .flat_map(|key| uninstall.children(key))
        .filter(|(_, values)| {
            values.text("SystemComponent").as_deref() != Some("1")
                && values.text("ParentKeyName").is_none()
        })
        .filter_map(|(_, values)| {
            let name = values.text("DisplayName")?.trim().to_owned();
            (!name.is_empty()).then(|| Software {
                name,
                version: values
                    .text("DisplayVersion")
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            })
        })
        .collect();
    found.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    found.dedup();
    found
}

/// Services from `sc queryex type= service state= all` (name and state) and `reg query
/// SERVICES_KEY /s /v Start` (start type).
pub fn services(queryex: &str, start_values_text: &str) -> Vec<Service> {
    let start_values = Registry::parse(start_values_text);
    let mut found = Vec::new();
    let mut name: Option<String> = None;
    for line in queryex.lines().map(str::trim) {
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        match field.trim() {
            "SERVICE_NAME" => name = Some(value.trim().to_owned()),
            // `STATE              : 4  RUNNING`; the words after the code may continue on
            // following lines (accepted controls), which are not read.
            "STATE" => {
                if let Some(name) = name.take() {
                    let state = value
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("unknown")
                        .to_lowercase();
                    let start = start_values
                        .value(&format!(r"{SERVICES_KEY}\{name}"), "Start")
                        .map(|v| start_type(&v.text()).to_owned())
                        .unwrap_or_default();
                    found.push(Service {
                        name,
                        state,
                        start_type: start,
                        state_source: "service control manager".into(),
                    });
                }
            }
            _ => {}
        }
    }
    if found.is_empty() {
        // The service control manager listed nothing (a restricted session, or a Windows
        // layer without it): the registered services are still listed, their state unknown.
        found = registered_services(start_values_text, &start_values);
    }
    found.sort_by_key(|s| s.name.to_lowercase());
    found
}

/// Every service key with a start value, named as the registry spells it.
fn registered_services(start_values_text: &str, start_values: &Registry) -> Vec<Service> {
    let prefix = format!("{}\\", SERVICES_KEY.to_uppercase());
    start_values_text
        .lines()
        .map(str::trim)
        .filter(|line| line.to_uppercase().starts_with(&prefix))
        .filter_map(|key| {
            let name = key[prefix.len()..].to_owned();
            let start = start_values.value(key, "Start")?;
            (!name.is_empty() && !name.contains('\\')).then(|| Service {
                name,
                state: "unknown".into(),
                start_type: start_type(&start.text()).to_owned(),
                state_source: "the service control manager listed no services (sc queryex printed none); start types from the registry".into(),
            })
        })
        .collect()
}

/// The words Windows shows for a service's `Start` value.
fn start_type(code: &str) -> &'static str {
    match code.trim() {
        "0" => "boot",
        "1" => "system",
        "2" => "auto",
        "3" => "manual",
        "4" => "disabled",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNINSTALL: &str = "\r
HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\7-Zip\r
    DisplayName    REG_SZ    7-Zip 23.01 (x64)\r
    DisplayVersion    REG_SZ    23.01\r
    Publisher    REG_SZ    Igor Pavlov\r
\r
HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{5FCE6D76-F5DC-37AB-B2B8-22AB8CEDB1D4}\r
    DisplayName    REG_SZ    Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33130\r
    DisplayVersion    REG_SZ    14.38.33130.0\r
\r
HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{A2B3}\r
    DisplayName    REG_SZ    Hidden runtime part\r
    SystemComponent    REG_DWORD    0x1\r
\r
HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\NoName\r
    UninstallString    REG_SZ    C:\\x.exe\r
\r
HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Notepad++\r
    DisplayName    REG_SZ    Notepad++ (32-bit x86)\r
    DisplayVersion    REG_SZ    8.6\r
\r
HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Notepad++\\Sub\r
    DisplayName    REG_SZ    not a program: a subkey of one\r
";

    #[test]
    fn programs_are_the_uninstall_entries_apps_and_features_shows() {
        let got = software(&Registry::parse(UNINSTALL));
        let names: Vec<(&str, &str)> = got
            .iter()
            .map(|s| (s.name.as_str(), s.version.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("7-Zip 23.01 (x64)", "23.01"),
                (
                    "Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33130",
                    "14.38.33130.0"
                ),
                ("Notepad++ (32-bit x86)", "8.6"),
            ]
        );
    }

    const QUERYEX: &str = "\r
SERVICE_NAME: Spooler\r
DISPLAY_NAME: Print Spooler\r
        TYPE               : 110  WIN32_OWN_PROCESS  (interactive)\r
        STATE              : 4  RUNNING\r
                                (STOPPABLE, NOT_PAUSABLE, IGNORES_SHUTDOWN)\r
        WIN32_EXIT_CODE    : 0  (0x0)\r
        PID                : 2412\r
\r
SERVICE_NAME: RemoteRegistry\r
DISPLAY_NAME: Remote Registry\r
        TYPE               : 20  WIN32_SHARE_PROCESS\r
        STATE              : 1  STOPPED\r
        WIN32_EXIT_CODE    : 1077  (0x435)\r
\r
SERVICE_NAME: WinDefend\r
DISPLAY_NAME: Microsoft Defender Antivirus Service\r
        STATE              : 4  RUNNING\r
";

    const STARTS: &str = "\r
HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\RemoteRegistry\r
    Start    REG_DWORD    0x4\r
\r
HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Spooler\r
    Start    REG_DWORD    0x2\r
\r
End of search: 2 match(es) found.\r
";

    #[test]
    fn services_have_their_state_and_start_type() {
        let got = services(QUERYEX, STARTS);
        let seen: Vec<(&str, &str, &str)> = got
            .iter()
            .map(|s| (s.name.as_str(), s.state.as_str(), s.start_type.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("RemoteRegistry", "stopped", "disabled"),
                ("Spooler", "running", "auto"),
                ("WinDefend", "running", ""),
            ]
        );
        assert!(
            got.iter()
                .all(|s| s.state_source == "service control manager")
        );
    }

    #[test]
    fn without_the_service_control_manager_the_registered_services_have_an_unknown_state() {
        // What Wine's sc prints for queryex: its usage, and no service.
        let got = services(
            "Usage: sc command servicename [parameter= value ...]\r\n",
            STARTS,
        );
        let seen: Vec<(&str, &str, &str)> = got
            .iter()
            .map(|s| (s.name.as_str(), s.state.as_str(), s.start_type.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("RemoteRegistry", "unknown", "disabled"),
                ("Spooler", "unknown", "auto"),
            ]
        );
        assert!(got.iter().all(|s| s.state_source.contains("sc queryex")));
    }
}
