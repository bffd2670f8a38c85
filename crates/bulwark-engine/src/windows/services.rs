//! Concatenated `sc qc NAME` outputs: a `SERVICE_NAME: NAME` line, then indented
//! `START_TYPE         : 4   DISABLED` and other lines. A service that `sc` did not find has
//! no block, and is absent.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Services {
    /// lowercase service name -> start type code
    start: HashMap<String, u32>,
}

impl Services {
    pub fn parse(text: &str) -> Services {
        let mut services = Services::default();
        let mut current: Option<String> = None;
        for raw in text.lines() {
            let line = raw.trim();
            let Some((field, value)) = line.split_once(':') else {
                continue;
            };
            match field.trim() {
                "SERVICE_NAME" => current = Some(value.trim().to_lowercase()),
                "START_TYPE" => {
                    let code = value
                        .split_whitespace()
                        .next()
                        .and_then(|c| c.parse::<u32>().ok());
                    if let (Some(name), Some(code)) = (current.take(), code) {
                        services.start.entry(name).or_insert(code);
                    }
                }
                _ => {}
            }
        }
        services
    }

    /// `enabled` (boot, system or automatic start), `manual` (demand start), `disabled`, or
    /// `absent`: the same words as the Linux service_state kind.
    pub fn state(&self, name: &str) -> &'static str {
        match self.start.get(&name.trim().to_lowercase()) {
            None => "absent",
            Some(0..=2) => "enabled",
            Some(3) => "manual",
            Some(4) => "disabled",
            Some(_) => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_types_map_to_states() {
        let text = "[SC] QueryServiceConfig SUCCESS\r\n\r\nSERVICE_NAME: RemoteRegistry\r\n        TYPE               : 20  WIN32_SHARE_PROCESS\r\n        START_TYPE         : 4   DISABLED\r\n\r\nSERVICE_NAME: wuauserv\r\n        START_TYPE         : 3   DEMAND_START\r\nSERVICE_NAME: BITS\r\n        START_TYPE         : 2   AUTO_START  (DELAYED)\r\n[SC] OpenService FAILED 1060:\r\n\r\nThe specified service does not exist as an installed service.\r\n";
        let s = Services::parse(text);
        assert_eq!(s.state("remoteregistry"), "disabled");
        assert_eq!(s.state("wuauserv"), "manual");
        assert_eq!(s.state("BITS"), "enabled");
        assert_eq!(s.state("Telnet"), "absent");
    }
}
