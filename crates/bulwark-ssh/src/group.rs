//! Killing a remote command that ran past its deadline, on any OpenSSH.
//!
//! Closing the channel does not stop a command that neither reads nor writes (sshd leaves a
//! session without a terminal running), and the SSH "signal" request is refused for root
//! logins, which OpenSSH serves without privilege separation. So every command is started
//! through a wrapper that first announces its process id on stderr and then `exec`s the
//! command. sshd makes each session's process a session leader (setsid), so that id is also
//! the process group of the command and of everything it starts; on the deadline a second
//! channel kills the group. The announcement is removed from stderr before the caller sees it.

use crate::shell_quote;

/// The line the wrapper writes to stderr before anything else it runs can.
const MARKER: &[u8] = b"bulwark-ssh-pid ";

/// How much stderr is searched for the announcement: the login shell's start-up files may
/// print before it, but not without bound.
const SEARCH_LIMIT: usize = 64 * 1024;

/// The command line that announces the process group and then becomes `command` (an already
/// quoted command line). `exec` keeps one process id from the login shell to the command.
pub(crate) fn wrap(command: &str) -> String {
    let announce = r#"printf 'bulwark-ssh-pid %s\n' "$$" >&2 && exec "$@""#;
    format!("exec sh -c {} sh {command}", shell_quote(announce))
}

/// The command line that kills a process group (and, should the id not lead a group, the
/// process itself). `kill -s KILL --` is the spelling dash, bash, zsh and busybox all take.
pub(crate) fn kill_line(pid: u32) -> String {
    format!("kill -s KILL -- -{pid} 2>/dev/null || kill -s KILL {pid}")
}

/// Finds the announcement in a stream of stderr chunks, passing everything else through.
pub(crate) struct Announcement {
    state: State,
    searched: usize,
}

enum State {
    /// Bytes of the current, not yet complete, line.
    Searching(Vec<u8>),
    Done,
}

impl Announcement {
    pub(crate) fn new() -> Announcement {
        Announcement {
            state: State::Searching(Vec::new()),
            searched: 0,
        }
    }

    /// Feeds a chunk of stderr; returns the process id if this chunk completed the
    /// announcement, and hands the bytes that are the command's own stderr to `keep`.
    pub(crate) fn feed(&mut self, data: &[u8], keep: &mut impl FnMut(&[u8])) -> Option<u32> {
        let State::Searching(partial) = &mut self.state else {
            keep(data);
            return None;
        };
        self.searched += data.len();
        let mut rest = data;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let (line, after) = rest.split_at(end + 1);
            rest = after;
            partial.extend_from_slice(line);
            if let Some(pid) = parse(partial) {
                self.state = State::Done;
                keep(rest);
                return Some(pid);
            }
            // A line of the login shell's start-up files: the command's stderr, as ssh shows.
            keep(partial);
            partial.clear();
        }
        partial.extend_from_slice(rest);
        if self.searched > SEARCH_LIMIT {
            keep(partial);
            self.state = State::Done;
        }
        None
    }

    /// The end of stderr: a partial line held back is stderr after all.
    pub(crate) fn finish(&mut self, keep: &mut impl FnMut(&[u8])) {
        if let State::Searching(partial) = &self.state {
            keep(partial);
        }
        self.state = State::Done;
    }
}

fn parse(line: &[u8]) -> Option<u32> {
    let digits = line.strip_prefix(MARKER)?.strip_suffix(b"\n")?;
    let pid: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    // Process 0 and 1 are never ours; killing their "group" would be a disaster.
    (pid > 1).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn feed_all(chunks: &[&[u8]]) -> (Option<u32>, Vec<u8>) {
        let mut announcement = Announcement::new();
        let mut kept = Vec::new();
        let mut pid = None;
        for chunk in chunks {
            pid = pid.or(announcement.feed(chunk, &mut |b| kept.extend_from_slice(b)));
        }
        announcement.finish(&mut |b| kept.extend_from_slice(b));
        (pid, kept)
    }

    #[test]
    fn the_announcement_is_found_and_removed() {
        assert_eq!(
            feed_all(&[b"bulwark-ssh-pid 4242\nreal error\n"]),
            (Some(4242), b"real error\n".to_vec())
        );
    }

    #[test]
    fn an_announcement_split_across_chunks_is_found() {
        assert_eq!(
            feed_all(&[b"bulwark-s", b"sh-pid 42", b"42\n", b"err"]),
            (Some(4242), b"err".to_vec())
        );
    }

    #[test]
    fn start_up_noise_before_it_stays_stderr() {
        assert_eq!(
            feed_all(&[b"bashrc says hi\nbulwark-ssh-pid 77\nerr\n"]),
            (Some(77), b"bashrc says hi\nerr\n".to_vec())
        );
    }

    #[test]
    fn without_an_announcement_everything_is_stderr() {
        assert_eq!(
            feed_all(&[b"no marker\n", b"partial"]),
            (None, b"no marker\npartial".to_vec())
        );
        assert_eq!(feed_all(&[b"bulwark-ssh-pid 1\n"]).0, None);
        assert_eq!(feed_all(&[b"bulwark-ssh-pid x\n"]).0, None);
        let flood = vec![b'x'; SEARCH_LIMIT + 1];
        let (pid, kept) = feed_all(&[&flood, b"\nbulwark-ssh-pid 9\n"]);
        assert_eq!(pid, None);
        assert_eq!(kept.len(), flood.len() + b"\nbulwark-ssh-pid 9\n".len());
    }

    #[test]
    fn the_wrapper_announces_the_process_that_becomes_the_command() {
        let command = crate::command_line(&["sh", "-c", "echo \"$$\"; echo err >&2"]).unwrap();
        let output = Command::new("sh")
            .arg("-c")
            .arg(wrap(&command))
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let (pid, stderr) = feed_all(&[&output.stderr]);
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(pid.map(|p| p.to_string()), Some(stdout.trim().to_string()));
        assert_eq!(stderr, b"err\n");
    }
}
