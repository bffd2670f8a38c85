//! Agentless scanning's transport: one SSH session to one host, with three promises.
//!
//! - The host is who it was: its host key is pinned (`HostKeyPolicy::Pinned`), or the
//!   connection is refused after the key exchange and the key is reported for an
//!   administrator to approve (`SshError::HostKeyPending`). Nothing accepts any key.
//! - A command is an argv, never a string: each element is quoted for a POSIX shell
//!   (`shell_quote`), because sshd always hands the command line to the user's shell.
//! - A command is bounded: its output is capped (the rest is dropped, not buffered) and it
//!   has a deadline, past which it is killed and its channel closed.
//!
//! ```no_run
//! # async fn scan() -> Result<(), bulwark_ssh::SshError> {
//! use bulwark_ssh::{Auth, HostKeyPolicy, RunLimits, Session, Target, Timeouts};
//! let target = Target { address: "db1.example".into(), port: 22, user: "scan".into() };
//! let auth = Auth::Password("…".into());
//! let policy = HostKeyPolicy::Pinned("SHA256:…".into());
//! let session = Session::connect(&target, &auth, &policy, Timeouts::default()).await?;
//! let output = session.run(&["id", "-u"], None, RunLimits::default()).await?;
//! session.close().await;
//! # Ok(()) }
//! ```

mod error;
mod group;
mod host_key;
mod keys;
mod quote;
mod run;
mod session;
mod target;
/// A real OpenSSH server and throwaway users, for this crate's tests and the server's.
#[doc(hidden)]
pub mod testing;

pub use error::{AuthMethod, SshError};
pub use host_key::HostKeyPolicy;
pub use keys::{KeyPair, generate_ed25519, public_key_line};
pub use quote::{command_line, shell_quote};
pub use run::{RunLimits, RunOutput};
pub use session::Session;
pub use target::{Auth, Target, Timeouts};

#[cfg(test)]
mod tests {
    use super::*;

    /// The server runs sessions on its tokio tasks: these futures must be `Send`.
    #[allow(dead_code)]
    fn futures_are_send(session: &Session, target: &Target, auth: &Auth, policy: &HostKeyPolicy) {
        fn send<T: Send>(_: T) {}
        send(Session::connect(target, auth, policy, Timeouts::default()));
        send(session.run(&["true"], None, RunLimits::default()));
    }
}
