//! `listening_ports`: every socket the running kernel has listening beyond loopback must have
//! a saved firewall rule naming its protocol and port, the way CIS's audit compares `ss -tuln`
//! with the firewall's rule list. Sockets come from /proc/net (the kernel's own tables, which
//! `ss` also reads); rules from files in iptables-save syntax, which is how ufw (user.rules,
//! user6.rules) and iptables-persistent (rules.v4, rules.v6) keep what they restore at boot.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bulwark_core::CheckOutcome;
use bulwark_core::probe::AddressFamily;

use crate::host::HostRoot;

const EXPECTED: &str = bulwark_core::probe::LISTENING_PORTS_EXPECTED;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "tcp" | "6" => Some(Protocol::Tcp),
            "udp" | "17" => Some(Protocol::Udp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Socket {
    pub protocol: Protocol,
    pub port: u16,
    pub address: IpAddr,
}

impl fmt::Display for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address {
            IpAddr::V4(a) => write!(f, "{} {a}:{}", self.protocol, self.port),
            IpAddr::V6(a) => write!(f, "{} [{a}]:{}", self.protocol, self.port),
        }
    }
}

/// One line of a /proc/net/{tcp,udp}{,6} table, if it is a listening socket: TCP in state
/// LISTEN (0A), or UDP unconnected (state 07 with no remote port).
fn parse_socket_line(line: &str, protocol: Protocol) -> Option<Socket> {
    let mut fields = line.split_whitespace();
    let _slot = fields.next()?;
    let local = fields.next()?;
    let remote = fields.next()?;
    let state = fields.next()?;
    let listening = match protocol {
        Protocol::Tcp => state == "0A",
        Protocol::Udp => state == "07" && remote.rsplit(':').next()? == "0000",
    };
    if !listening {
        return None;
    }
    let (address, port) = local.split_once(':')?;
    Some(Socket {
        protocol,
        port: u16::from_str_radix(port, 16).ok()?,
        address: parse_kernel_address(address)?,
    })
}

/// A socket of the kernel's tables that listens or is connected, for a netstat-like
/// listing of the host (loopback included).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Connection {
    pub protocol: Protocol,
    /// `LISTEN` (TCP), `UNCONN` (unconnected UDP) or `ESTABLISHED`.
    pub state: &'static str,
    pub local: std::net::SocketAddr,
    pub remote: std::net::SocketAddr,
}

fn parse_endpoint(text: &str) -> Option<std::net::SocketAddr> {
    let (address, port) = text.split_once(':')?;
    Some(std::net::SocketAddr::new(
        parse_kernel_address(address)?,
        u16::from_str_radix(port, 16).ok()?,
    ))
}

/// Every listening and established socket of the running kernel (/proc/net/{tcp,udp}{,6}).
pub fn connections(host: &HostRoot) -> Result<Vec<Connection>, String> {
    let mut all = Vec::new();
    for (table, protocol) in [
        ("tcp", Protocol::Tcp),
        ("tcp6", Protocol::Tcp),
        ("udp", Protocol::Udp),
        ("udp6", Protocol::Udp),
    ] {
        let Some(text) = host
            .read(&format!("/proc/net/{table}"))
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(remote), Some(state)) = (f.get(1), f.get(2), f.get(3)) else {
                continue;
            };
            let state = match (protocol, *state) {
                (Protocol::Tcp, "0A") => "LISTEN",
                (Protocol::Udp, "07") => "UNCONN",
                (_, "01") => "ESTABLISHED",
                _ => continue,
            };
            if let (Some(local), Some(remote)) = (parse_endpoint(local), parse_endpoint(remote)) {
                all.push(Connection {
                    protocol,
                    state,
                    local,
                    remote,
                });
            }
        }
    }
    all.sort();
    Ok(all)
}

/// The kernel prints each 32-bit word of the address as the number it holds in memory; the
/// hosts Bulwark runs on are little-endian, so each word's bytes come out reversed.
fn parse_kernel_address(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| {
        hex.get(i * 8..i * 8 + 8)
            .and_then(|w| u32::from_str_radix(w, 16).ok())
            .map(u32::to_le_bytes)
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

fn is_loopback(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// The sockets of `family` listening beyond loopback. An IPv6 socket on the wildcard address
/// also takes IPv4 connections unless net.ipv6.bindv6only is 1, so it counts for IPv4 too.
/// `None` when the kernel has no table for the family (IPv6 disabled).
fn listening_sockets(
    host: &HostRoot,
    family: AddressFamily,
) -> Result<Option<BTreeSet<Socket>>, String> {
    let table = |name: &str, protocol: Protocol| -> Result<Option<Vec<Socket>>, String> {
        let text = host
            .read(&format!("/proc/net/{name}"))
            .map_err(|e| e.to_string())?;
        Ok(text.map(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| parse_socket_line(l, protocol))
                .collect()
        }))
    };
    let v6 = |only_wildcard: bool| -> Result<Option<Vec<Socket>>, String> {
        let Some(mut sockets) = table("tcp6", Protocol::Tcp)? else {
            return Ok(None);
        };
        sockets.extend(table("udp6", Protocol::Udp)?.unwrap_or_default());
        if only_wildcard {
            sockets.retain(|s| s.address == IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        }
        Ok(Some(sockets))
    };
    let sockets = match family {
        AddressFamily::Ipv4 => {
            let Some(mut sockets) = table("tcp", Protocol::Tcp)? else {
                return Ok(None);
            };
            sockets.extend(table("udp", Protocol::Udp)?.unwrap_or_default());
            let v6only = host
                .read("/proc/sys/net/ipv6/bindv6only")
                .ok()
                .flatten()
                .is_some_and(|v| v.trim() == "1");
            if !v6only {
                sockets.extend(v6(true)?.unwrap_or_default());
            }
            sockets
        }
        AddressFamily::Ipv6 => match v6(false)? {
            Some(sockets) => sockets,
            None => return Ok(None),
        },
    };
    Ok(Some(
        sockets
            .into_iter()
            .filter(|s| !is_loopback(s.address))
            .collect(),
    ))
}

/// A port range some saved rule names for a protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PortRule {
    protocol: Protocol,
    first: u16,
    last: u16,
}

/// The port ranges named by inbound rules of the filter table. Output, forwarding and NAT
/// chains do not decide who may connect; logging targets decide nothing; negated matches
/// (`! --dport`) name the ports the rule does not cover.
fn parse_rules(text: &str) -> Vec<PortRule> {
    let mut table = "filter".to_string();
    let mut rules = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('*') {
            table = name.trim().to_string();
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if table != "filter" || words.first() != Some(&"-A") {
            continue;
        }
        let chain = words
            .get(1)
            .map(|c| c.to_ascii_lowercase())
            .unwrap_or_default();
        if chain.contains("output") || chain.contains("forward") {
            continue;
        }
        let value_after = |flags: &[&str]| {
            words
                .windows(2)
                .enumerate()
                .find(|(i, w)| flags.contains(&w[0]) && (*i == 0 || words[i - 1] != "!"))
                .map(|(_, w)| w[1])
        };
        if matches!(value_after(&["-j", "--jump"]), Some("LOG" | "NFLOG")) {
            continue;
        }
        let Some(protocol) = value_after(&["-p", "--protocol"]).and_then(Protocol::parse) else {
            continue;
        };
        let ports = value_after(&[
            "--dport",
            "--destination-port",
            "--dports",
            "--destination-ports",
        ]);
        for range in ports.into_iter().flat_map(|p| p.split(',')) {
            let (first, last) = range.split_once(':').unwrap_or((range, range));
            let first = if first.is_empty() {
                Some(0)
            } else {
                first.parse().ok()
            };
            let last = if last.is_empty() {
                Some(u16::MAX)
            } else {
                last.parse().ok()
            };
            if let (Some(first), Some(last)) = (first, last) {
                rules.push(PortRule {
                    protocol,
                    first,
                    last,
                });
            }
        }
    }
    rules
}

pub fn judge(host: &HostRoot, family: AddressFamily, rule_files: &[String]) -> CheckOutcome {
    if !host.is_live() {
        return CheckOutcome::skip(
            EXPECTED,
            "listening sockets exist only on a running host; an offline root is not judged",
        );
    }
    let sockets = match listening_sockets(host, family) {
        Ok(Some(sockets)) => sockets,
        Ok(None) => {
            let missing = match family {
                AddressFamily::Ipv4 => "IPv4 (no /proc/net/tcp)",
                AddressFamily::Ipv6 => "IPv6 (no /proc/net/tcp6)",
            };
            return CheckOutcome::skip(EXPECTED, format!("the running kernel has no {missing}"));
        }
        Err(e) => return CheckOutcome::error(EXPECTED, e),
    };
    let mut rules = Vec::new();
    let mut read = Vec::new();
    for file in rule_files {
        match host.read(file) {
            Ok(Some(text)) => {
                rules.extend(parse_rules(&text));
                read.push(file.as_str());
            }
            Ok(None) => {}
            Err(e) => return CheckOutcome::error(EXPECTED, e.to_string()),
        }
    }
    let covered = |s: &Socket| {
        rules
            .iter()
            .any(|r| r.protocol == s.protocol && (r.first..=r.last).contains(&s.port))
    };
    let (with_rule, without_rule): (Vec<&Socket>, Vec<&Socket>) =
        sockets.iter().partition(|s| covered(s));
    if without_rule.is_empty() {
        let ports: BTreeSet<String> = with_rule
            .iter()
            .map(|s| format!("{}/{}", s.protocol, s.port))
            .collect();
        let actual = if ports.is_empty() {
            "nothing listens beyond loopback".to_string()
        } else {
            format!(
                "every listening port has a rule: {}",
                ports.into_iter().collect::<Vec<_>>().join(", ")
            )
        };
        return CheckOutcome::judged(true, Some(actual), EXPECTED);
    }
    let rules_read = if read.is_empty() {
        format!("no saved rules in {}", rule_files.join(" or "))
    } else {
        format!("rules read from {}", read.join(", "))
    };
    let listed: Vec<String> = without_rule.iter().map(|s| s.to_string()).collect();
    CheckOutcome::judged(
        false,
        Some(format!("no rule for {} ({rules_read})", listed.join(", "))),
        EXPECTED,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_tables_parse_as_ss_shows_them() {
        let cases: [(&str, Protocol, Option<&str>); 7] = [
            (
                "0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1",
                Protocol::Tcp,
                Some("tcp 0.0.0.0:22"),
            ),
            (
                "1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 2",
                Protocol::Tcp,
                Some("tcp 127.0.0.1:5432"),
            ),
            (
                "2: 0F02000A:0016 0202000A:C350 01 00000000:00000000 00:00000000 00000000 0 0 3",
                Protocol::Tcp,
                None,
            ),
            (
                "3: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 4",
                Protocol::Udp,
                Some("udp 0.0.0.0:68"),
            ),
            (
                "4: 0F02000A:A1B2 08080808:0035 01 00000000:00000000 00:00000000 00000000 0 0 5",
                Protocol::Udp,
                None,
            ),
            (
                "0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 0 0 0",
                Protocol::Tcp,
                Some("tcp [::]:80"),
            ),
            (
                "1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 0 0 0",
                Protocol::Tcp,
                Some("tcp [::1]:631"),
            ),
        ];
        for (line, protocol, want) in cases {
            let got = parse_socket_line(line, protocol).map(|s| s.to_string());
            assert_eq!(got.as_deref(), want, "{line}");
        }
    }

    #[test]
    fn rules_name_ports_as_iptables_matches_them() {
        type Ranges = &'static [(Protocol, u16, u16)];
        let cases: [(&str, Ranges); 8] = [
            (
                "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
                &[(Protocol::Tcp, 22, 22)],
            ),
            (
                "-A ufw-user-input -p udp --dport 53 -j ACCEPT",
                &[(Protocol::Udp, 53, 53)],
            ),
            (
                "-A INPUT -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT",
                &[
                    (Protocol::Tcp, 80, 80),
                    (Protocol::Tcp, 443, 443),
                    (Protocol::Tcp, 8000, 8080),
                ],
            ),
            (
                "-A INPUT -p tcp --dport 1024: -j DROP",
                &[(Protocol::Tcp, 1024, 65535)],
            ),
            ("-A OUTPUT -p tcp --dport 25 -j ACCEPT", &[]),
            ("-A INPUT -p tcp ! --dport 22 -j DROP", &[]),
            ("-A INPUT -p tcp --dport 23 -j LOG", &[]),
            ("-A INPUT -i lo -j ACCEPT", &[]),
        ];
        for (line, want) in cases {
            let got: Vec<(Protocol, u16, u16)> = parse_rules(&format!("*filter\n{line}\nCOMMIT\n"))
                .into_iter()
                .map(|r| (r.protocol, r.first, r.last))
                .collect();
            assert_eq!(got, want, "{line}");
        }
        assert!(parse_rules("*nat\n-A PREROUTING -p tcp --dport 80 -j REDIRECT\n").is_empty());
    }
}
