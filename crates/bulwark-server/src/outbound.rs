//! Addresses the server itself calls (webhooks now; any URL a user configures later): never
//! the server's own network — loopback, private, link-local, carrier-grade NAT, unique-local or
//! unspecified addresses, however the URL spells them (a decimal `http://2130706433/` is
//! 127.0.0.1) — unless the installation allows it, and never with credentials in the URL.
//! A URL is checked when it is configured and again at each connection: names are resolved
//! by [`PublicResolver`], which hands the HTTP client only permitted addresses, so a name that
//! later resolves inward (DNS rebinding) is refused too. The client follows no redirects.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;

/// Whether an address is on the public internet (not the caller's own networks).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || ip.to_ipv4().is_some_and(|v4| !is_public_v4(v4)))
}

/// What the installation lets the server call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    /// Also loopback and private networks (a receiver on the same host or LAN).
    pub allow_private: bool,
}

impl OutboundPolicy {
    fn permits(self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }

    /// Checks a URL a user configures: http or https, a host, no credentials, and (for an
    /// address written as one) a permitted address. What a name resolves to is checked at
    /// each connection.
    pub fn check_url(self, text: &str) -> Result<Url, String> {
        let url = Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("use an http:// or https:// address".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "put no user name or password in the address; webhooks are signed instead".into(),
            );
        }
        let Some(host) = url.host() else {
            return Err("the address has no host".into());
        };
        let literal = match host {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(_) => None,
        };
        if let Some(ip) = literal
            && !self.permits(ip)
        {
            return Err(format!(
                "{ip} is on a private, loopback or link-local network, which the server does not call (the installation setting outbound_private allows it)"
            ));
        }
        Ok(url)
    }
}

/// Resolves names for the outbound client and keeps only the addresses the policy permits.
pub struct PublicResolver(pub OutboundPolicy);

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if permitted.is_empty() {
                return Err(format!(
                    "{host} resolves only to addresses the server does not call ({found:?})"
                )
                .into());
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The client for outbound calls: no redirects, short connect timeout, names resolved by
/// [`PublicResolver`].
pub fn client(policy: OutboundPolicy) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(5))
        .dns_resolver(Arc::new(PublicResolver(policy)))
        .build()
        .expect("the HTTP client builds with rustls")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inward_addresses_are_refused_however_they_are_written() {
        let strict = OutboundPolicy::default();
        let refused = [
            "http://127.0.0.1/hook",
            "http://2130706433/hook",
            "http://0x7f.1/hook",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://10.1.2.3/",
            "http://172.20.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "https://user:pass@hooks.example.com/",
            "ftp://hooks.example.com/",
            "file:///etc/passwd",
        ];
        for url in refused {
            assert!(strict.check_url(url).is_err(), "{url} must be refused");
        }
        for url in [
            "https://hooks.example.com/bulwark",
            "http://203.0.114.7:8080/x",
            "https://[2606:4700::1111]/",
        ] {
            assert!(strict.check_url(url).is_ok(), "{url} is public");
        }
        let lan = OutboundPolicy {
            allow_private: true,
        };
        assert!(lan.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(lan.check_url("http://u:p@127.0.0.1/").is_err());
    }
}
