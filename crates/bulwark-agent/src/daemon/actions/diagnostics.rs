//! Network diagnostics from inside the host's network: ping and traceroute (the host's own
//! tools, as argv, the target validated as an address or host name and placed after `--` so
//! that it is never read as an option), a DNS lookup (the host's resolver, or a named server
//! asked directly), the host's sockets, and a TCP connect test.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use bulwark_engine::HostRoot;

use super::Report;
use super::run::run;

const PING_TIMEOUT: Duration = Duration::from_secs(30);
const TRACEROUTE_TIMEOUT: Duration = Duration::from_secs(90);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

fn tool_report(argv: &[&str], timeout: Duration, what: &str) -> Report {
    match run(argv, None, timeout) {
        Ok(ran) => {
            let ok = ran.ok();
            let summary = match (ok, ran.timed_out) {
                (true, _) => format!("{what}: reachable"),
                (false, true) => format!("{what}: no answer within {} s", timeout.as_secs()),
                (false, false) => format!("{what}: {}", ran.complaint()),
            };
            Report::from_run(ok, summary, ran)
        }
        Err(e) => Report::failed(e),
    }
}

pub fn ping(target: &str) -> Report {
    tool_report(
        &["ping", "-c", "4", "-W", "2", "--", target],
        PING_TIMEOUT,
        &format!("ping {target}"),
    )
}

pub fn traceroute(target: &str) -> Report {
    let mut report = tool_report(
        &[
            "traceroute",
            "-n",
            "-m",
            "20",
            "-w",
            "2",
            "-q",
            "1",
            "--",
            target,
        ],
        TRACEROUTE_TIMEOUT,
        &format!("traceroute {target}"),
    );
    if report.succeeded {
        let hops = report
            .stdout
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .count();
        report.summary = format!("traceroute {target}: {hops} hop(s)");
    }
    report
}

/// Resolves `name` with the host's resolver (`server` None) or by asking `server` directly.
pub async fn dns_lookup(name: &str, server: Option<&str>, port: Option<u16>) -> Report {
    use hickory_resolver::config::{NameServerConfig, ResolverConfig};
    use hickory_resolver::name_server::TokioConnectionProvider;
    use hickory_resolver::proto::xfer::Protocol;
    let started = Instant::now();
    let (resolver, asked) = match server {
        Some(server) => {
            let Ok(ip) = server.parse::<IpAddr>() else {
                return Report::failed(format!("{server:?} is not an IP address"));
            };
            let address = SocketAddr::new(ip, port.unwrap_or(53));
            let mut config = ResolverConfig::new();
            config.add_name_server(NameServerConfig::new(address, Protocol::Udp));
            let resolver = hickory_resolver::Resolver::builder_with_config(
                config,
                TokioConnectionProvider::default(),
            )
            .build();
            (resolver, address.to_string())
        }
        None => match hickory_resolver::Resolver::builder_tokio() {
            Ok(builder) => (builder.build(), "the host's resolver".to_owned()),
            Err(e) => {
                return Report::failed(format!(
                    "cannot read the host's resolver configuration: {e}"
                ));
            }
        },
    };
    match resolver.lookup_ip(name).await {
        Ok(lookup) => {
            let addresses: Vec<String> = lookup.iter().map(|a| a.to_string()).collect();
            let mut out = String::new();
            for a in &addresses {
                let _ = writeln!(out, "{name}\t{a}");
            }
            Report {
                summary: format!(
                    "{name} resolves to {} ({asked}, {} ms)",
                    addresses.join(", "),
                    started.elapsed().as_millis()
                ),
                stdout: out,
                ..Report::done(String::new())
            }
        }
        Err(e) => Report::failed(format!("{name} does not resolve at {asked}: {e}")),
    }
}

pub fn netstat(root: &Path) -> Report {
    match bulwark_engine::collect::listening::connections(&HostRoot::at(root)) {
        Ok(connections) => {
            let mut out = format!(
                "{:<6} {:<12} {:<46} {}\n",
                "proto", "state", "local", "remote"
            );
            for c in &connections {
                let _ = writeln!(
                    out,
                    "{:<6} {:<12} {:<46} {}",
                    c.protocol.to_string(),
                    c.state,
                    c.local.to_string(),
                    c.remote
                );
            }
            let listening = connections
                .iter()
                .filter(|c| c.state != "ESTABLISHED")
                .count();
            Report {
                stdout: out,
                ..Report::done(format!(
                    "{listening} listening socket(s), {} established connection(s)",
                    connections.len() - listening
                ))
            }
        }
        Err(e) => Report::failed(format!("cannot read the socket tables: {e}")),
    }
}

pub fn port_check(target: &str, port: u16) -> Report {
    let addresses: Vec<SocketAddr> = match (target, port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => return Report::failed(format!("{target} does not resolve: {e}")),
    };
    let mut tried = Vec::new();
    for address in addresses {
        let started = Instant::now();
        match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
            Ok(_) => {
                return Report::done(format!(
                    "{target}:{port} is open ({address} answered in {} ms)",
                    started.elapsed().as_millis()
                ));
            }
            Err(e) => tried.push(format!("{address}: {e}")),
        }
    }
    Report::failed(format!(
        "{target}:{port} is not reachable ({})",
        tried.join("; ")
    ))
}
