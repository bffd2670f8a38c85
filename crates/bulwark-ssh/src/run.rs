//! Running one command on a session: its own channel, stdin written then closed, stdout and
//! stderr captured up to a cap, and a deadline past which the command is killed.

use std::pin::pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use russh::client::Msg;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};
use tokio::time::{Instant, timeout, timeout_at};

use crate::group::{self, Announcement};
use crate::{Session, SshError, command_line};

/// Bounds of one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// From opening the channel to the command's exit.
    pub deadline: Duration,
    /// Bytes of stdout and stderr kept, together; the rest is read and dropped.
    pub max_output: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            deadline: Duration::from_secs(300),
            max_output: 16 * 1024 * 1024,
        }
    }
}

/// What a command left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// The exit status; `None` when the command was killed by a signal or the server sent
    /// no status.
    pub exit_status: Option<u32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Output beyond `RunLimits::max_output` was dropped.
    pub truncated: bool,
}

/// How long each step of the clean-up after a missed deadline may take: the session itself
/// may be the reason for the delay, and the caller was promised an answer at the deadline.
const KILL_GRACE: Duration = Duration::from_secs(2);

impl Session {
    /// Runs `argv` on the host: each element is quoted for the login shell (`shell_quote`),
    /// `stdin` (if any) is written and then closed (a command reading stdin always sees its
    /// end), and the command must exit within `limits.deadline`; past it, the command's
    /// process group is killed, its channel closed, and the answer is `DeadlineExceeded`.
    ///
    /// The line sshd receives is `exec sh -c '<announce pid>; exec "$@"' sh ARGV…`: the
    /// announcement (removed from stderr) is what lets the deadline kill the command and its
    /// children (see `group`).
    pub async fn run(
        &self,
        argv: &[&str],
        stdin: Option<&[u8]>,
        limits: RunLimits,
    ) -> Result<RunOutput, SshError> {
        let line = group::wrap(&command_line(argv)?);
        let deadline = Instant::now() + limits.deadline;
        let exceeded = || SshError::DeadlineExceeded {
            deadline: limits.deadline,
        };

        let channel = timeout_at(deadline, self.handle.channel_open_session())
            .await
            .map_err(|_| exceeded())?
            .map_err(|error| SshError::protocol(&self.address, &error))?;
        let (mut reader, writer) = channel.split();

        // Written by the exchange as soon as the command announces itself, read here after
        // the deadline dropped the exchange. 0 is "not announced" (never a process of ours).
        let pid = AtomicU32::new(0);
        let work = self.exchange(&mut reader, &writer, line, stdin, limits.max_output, &pid);
        match timeout_at(deadline, work).await {
            Ok(result) => result,
            Err(_elapsed) => {
                match pid.load(Ordering::Relaxed) {
                    0 => {
                        // Not announced (a ForceCommand, say): ask sshd to signal the session
                        // instead, which it does for users other than root (OpenSSH 7.9+).
                        let _ = timeout(KILL_GRACE, writer.signal(Sig::KILL)).await;
                    }
                    pid => self.kill_group(pid).await,
                }
                let _ = timeout(KILL_GRACE, writer.close()).await;
                Err(exceeded())
            }
        }
    }

    /// Kills a command's process group from a channel of its own, within the grace time.
    async fn kill_group(&self, pid: u32) {
        let kill = async {
            let mut channel = self.handle.channel_open_session().await?;
            channel.exec(true, group::kill_line(pid)).await?;
            // Until the kill has run: its channel closes when it exits.
            while channel.wait().await.is_some() {}
            Ok::<(), russh::Error>(())
        };
        let _ = timeout(KILL_GRACE, kill).await;
    }

    async fn exchange(
        &self,
        reader: &mut ChannelReadHalf,
        writer: &ChannelWriteHalf<Msg>,
        line: String,
        stdin: Option<&[u8]>,
        max_output: usize,
        pid: &AtomicU32,
    ) -> Result<RunOutput, SshError> {
        writer
            .exec(true, line)
            .await
            .map_err(|error| SshError::protocol(&self.address, &error))?;

        // stdin is written while output is read: a command that answers before it has read
        // everything would otherwise stall both sides on full windows.
        let mut upload = pin!(async {
            if let Some(bytes) = stdin {
                writer.data(bytes).await?;
            }
            writer.eof().await
        });
        let mut uploading = true;
        let mut capture = Capture::new(max_output);
        let mut announcement = Announcement::new();
        let mut exit_status = None;

        loop {
            tokio::select! {
                message = reader.wait() => match message {
                    Some(ChannelMsg::Data { data }) => capture.keep(Stream::Stdout, &data),
                    // Extended data type 1 is stderr (RFC 4254 §5.2); there is no other.
                    Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                        let mut keep = |bytes: &[u8]| capture.keep(Stream::Stderr, bytes);
                        if let Some(announced) = announcement.feed(&data, &mut keep) {
                            pid.store(announced, Ordering::Relaxed);
                        }
                    }
                    Some(ChannelMsg::ExitStatus { exit_status: status }) => {
                        exit_status = Some(status)
                    }
                    Some(ChannelMsg::Failure) => {
                        return Err(SshError::CommandRefused {
                            address: self.address.clone(),
                        });
                    }
                    // Close (or the channel gone): everything the command said has arrived.
                    Some(ChannelMsg::Close) | None => break,
                    Some(_) => {}
                },
                // A failed upload is not an error of its own: the command may exit without
                // reading all of stdin, and its exit status is the verdict the caller reads.
                _ = &mut upload, if uploading => uploading = false,
            }
        }
        announcement.finish(&mut |bytes| capture.keep(Stream::Stderr, bytes));

        if exit_status.is_none() && self.handle.is_closed() {
            return Err(SshError::Disconnected {
                address: self.address.clone(),
            });
        }
        Ok(capture.into_output(exit_status))
    }
}

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// Output kept up to a budget shared by stdout and stderr; beyond it, bytes are dropped as
/// they arrive, so memory is bounded by the budget whatever the command prints.
struct Capture {
    budget: usize,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    truncated: bool,
}

impl Capture {
    fn new(budget: usize) -> Capture {
        Capture {
            budget,
            stdout: Vec::new(),
            stderr: Vec::new(),
            truncated: false,
        }
    }

    fn keep(&mut self, stream: Stream, data: &[u8]) {
        let take = data.len().min(self.budget);
        if take < data.len() {
            self.truncated = true;
        }
        self.budget -= take;
        let buffer = match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        };
        buffer.extend_from_slice(data.get(..take).unwrap_or_default());
    }

    fn into_output(self, exit_status: Option<u32>) -> RunOutput {
        RunOutput {
            exit_status,
            stdout: self.stdout,
            stderr: self.stderr,
            truncated: self.truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_and_the_rest_dropped() {
        let mut capture = Capture::new(10);
        capture.keep(Stream::Stdout, b"12345");
        assert!(!capture.truncated);
        capture.keep(Stream::Stderr, b"abc");
        capture.keep(Stream::Stdout, b"6789");
        capture.keep(Stream::Stderr, b"more");
        let output = capture.into_output(Some(0));
        assert_eq!(output.stdout, b"1234567");
        assert_eq!(output.stderr, b"abc");
        assert!(output.truncated);
    }

    #[test]
    fn output_exactly_at_the_budget_is_not_truncated() {
        let mut capture = Capture::new(4);
        capture.keep(Stream::Stdout, b"1234");
        capture.keep(Stream::Stdout, b"");
        let output = capture.into_output(None);
        assert_eq!(output.stdout, b"1234");
        assert!(!output.truncated);
    }
}
