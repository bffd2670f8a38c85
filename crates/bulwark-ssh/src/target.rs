//! Where to connect, as whom, with which credentials, and how long to wait. Credentials are
//! redacted from `Debug` so that a logged target or a panic message never carries them.

use std::fmt;
use std::time::Duration;

/// A host to scan: its address (a name or an IP address), SSH port and login user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub address: String,
    pub port: u16,
    pub user: String,
}

impl Target {
    /// `host:port`, with an IPv6 address in brackets, as messages name the target.
    pub(crate) fn display_address(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
}

/// How to log in. Debug output redacts the key, its passphrase and the password.
#[derive(Clone)]
pub enum Auth {
    /// An OpenSSH (or PEM/PKCS#8) private key as text, with its passphrase if it has one.
    PrivateKey {
        pem: String,
        passphrase: Option<String>,
    },
    Password(String),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const REDACTED: &str = "<redacted>";
        match self {
            Auth::PrivateKey { passphrase, .. } => f
                .debug_struct("PrivateKey")
                .field("pem", &REDACTED)
                .field("passphrase", &passphrase.as_ref().map(|_| REDACTED))
                .finish(),
            Auth::Password(_) => f.debug_tuple("Password").field(&REDACTED).finish(),
        }
    }
}

/// Time limits of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect, key exchange and authentication together.
    pub connect: Duration,
    /// Silence from the server after which a keepalive is sent.
    pub keepalive_interval: Duration,
    /// Unanswered keepalives after which the connection is dropped: a host that vanished
    /// (powered off, network gone) ends the session instead of leaving it open forever.
    pub keepalive_max: usize,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(15),
            keepalive_interval: Duration::from_secs(15),
            keepalive_max: 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let key = Auth::PrivateKey {
            pem: "-----BEGIN OPENSSH PRIVATE KEY-----\nSECRETKEY".into(),
            passphrase: Some("SECRETPASS".into()),
        };
        let password = Auth::Password("SECRETPW".into());
        let shown = format!("{key:?} {password:?} {key:#?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("PrivateKey") && shown.contains("Password"));
    }

    #[test]
    fn addresses_are_shown_with_their_port() {
        let target = |address: &str| Target {
            address: address.into(),
            port: 2222,
            user: "scan".into(),
        };
        assert_eq!(target("db1").display_address(), "db1:2222");
        assert_eq!(target("10.0.0.1").display_address(), "10.0.0.1:2222");
        assert_eq!(target("fe80::1").display_address(), "[fe80::1]:2222");
    }
}
