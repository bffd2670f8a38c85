//! Running a host tool for an action: argv (never a shell), a clean environment, input on
//! stdin if any (a password goes there, never on the command line where `ps` shows it), both
//! output streams kept up to the report's cap, and a deadline past which the whole process
//! group is killed (a script's children die with it).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bulwark_protocol::wire::MAX_JOB_OUTPUT_BYTES;

/// What a finished program left.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ran {
    /// None when it was killed (by a signal or at the deadline).
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub truncated: bool,
    pub timed_out: bool,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// The first line of stderr (else stdout): what a tool says when it refuses.
    pub fn complaint(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no output")
            .to_owned()
    }
}

/// Reads a stream to its end, keeping the first `cap` bytes; whether more was dropped.
fn keep(
    mut stream: impl Read + Send + 'static,
    cap: usize,
) -> std::thread::JoinHandle<(Vec<u8>, bool)> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let _ = (&mut stream).take(cap as u64).read_to_end(&mut kept);
        // Keep draining past the cap: a closed pipe would kill a program still writing.
        let dropped = std::io::copy(&mut stream, &mut std::io::sink()).unwrap_or(0);
        (kept, dropped > 0)
    })
}

pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs `argv` until it exits or `timeout` passes.
pub fn run(argv: &[&str], input: Option<&[u8]>, timeout: Duration) -> Result<Ran, String> {
    let (program, args) = argv.split_first().ok_or("no program to run")?;
    let mut cmd = Command::new(program);
    cmd.args(args);
    run_command(cmd, input, timeout).map_err(|e| format!("cannot run {program}: {e}"))
}

pub fn run_command(
    mut cmd: Command,
    input: Option<&[u8]>,
    timeout: Duration,
) -> Result<Ran, String> {
    cmd.env_clear()
        .env("PATH", PATH)
        .env("LC_ALL", "C")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        let _ = stdin.write_all(bytes);
    }
    let out = keep(child.stdout.take().expect("piped"), MAX_JOB_OUTPUT_BYTES);
    let err = keep(child.stderr.take().expect("piped"), MAX_JOB_OUTPUT_BYTES);
    let deadline = Instant::now() + timeout;
    let (status, timed_out) = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break (Some(status), false),
            None if Instant::now() >= deadline => {
                kill_group(&mut child);
                break (child.wait().ok(), true);
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let (stdout, cut_out) = out.join().unwrap_or_default();
    let (stderr, cut_err) = err.join().unwrap_or_default();
    Ok(Ran {
        exit_code: status.and_then(|s| s.code()).filter(|_| !timed_out),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        truncated: cut_out || cut_err,
        timed_out,
    })
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
    }
    let _ = child.kill();
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn output_is_capped_and_marked_and_input_reaches_stdin() {
        let big = run(
            &[
                "/bin/sh",
                "-c",
                "head -c 200000 /dev/zero | tr '\\0' x; echo oops >&2",
            ],
            None,
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(big.stdout.len(), MAX_JOB_OUTPUT_BYTES);
        assert!(big.truncated);
        assert_eq!(big.stderr.trim(), "oops");
        let cat = run(&["/bin/cat"], Some(b"secret"), Duration::from_secs(5)).unwrap();
        assert_eq!(cat.stdout, "secret");
        assert!(cat.ok());
    }

    #[test]
    fn the_deadline_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("child.pid");
        let script = format!("sleep 30 & echo $! > {}; sleep 30", pid_file.display());
        let started = Instant::now();
        let ran = run(
            &["/bin/sh", "-c", &script],
            None,
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(ran.timed_out);
        assert_eq!(ran.exit_code, None);
        assert!(started.elapsed() < Duration::from_secs(5));
        // The background child is killed with its group (a zombie waiting for its reaper
        // counts as gone).
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let stat = format!("/proc/{}/stat", pid.trim());
        let until = Instant::now() + Duration::from_secs(5);
        while std::fs::read_to_string(&stat).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        }) {
            assert!(
                Instant::now() < until,
                "the background child outlived its group"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
