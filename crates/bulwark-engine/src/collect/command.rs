//! The escape hatch: run a program and judge its output. argv runs without a shell; a shell is
//! used only when the content asks for one. Output is capped and a timeout kills the process.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use bulwark_core::probe::CommandOutput;

pub const MAX_OUTPUT_BYTES: u64 = 64 * 1024;

pub fn run(
    argv: Option<&[String]>,
    shell: Option<&str>,
    timeout: Duration,
    output: CommandOutput,
) -> Result<String, String> {
    let mut cmd = match (argv, shell) {
        (Some(argv), _) if !argv.is_empty() => {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        }
        (_, Some(script)) => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(script);
            c
        }
        _ => return Err("no command to run".into()),
    };
    cmd.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C");
    let (status, bytes) =
        run_bounded(cmd, Capture::Stdout, MAX_OUTPUT_BYTES, timeout).map_err(|e| match e {
            RunError::Start(e) => format!("cannot start: {e}"),
            RunError::TimedOut => format!("timed out after {}s", timeout.as_secs()),
            RunError::Wait(e) => e,
        })?;
    match output {
        CommandOutput::ExitCode => Ok(status
            .code()
            .map_or_else(|| "signal".to_string(), |c| c.to_string())),
        CommandOutput::Stdout => Ok(String::from_utf8_lossy(&bytes).trim().to_string()),
    }
}

/// Which of a child's output streams [`run_bounded`] keeps; the other goes to /dev/null.
#[derive(Debug, Clone, Copy)]
pub enum Capture {
    Stdout,
    Stderr,
}

#[derive(Debug)]
pub enum RunError {
    Start(std::io::Error),
    /// Killed at its timeout.
    TimedOut,
    Wait(String),
}

/// Runs `cmd` with no input, keeping the first `cap` bytes of one output stream (read on a
/// thread, so a chatty program never blocks on a full pipe), and kills it at `timeout`.
pub fn run_bounded(
    mut cmd: Command,
    capture: Capture,
    cap: u64,
    timeout: Duration,
) -> Result<(ExitStatus, Vec<u8>), RunError> {
    cmd.stdin(Stdio::null());
    match capture {
        Capture::Stdout => cmd.stdout(Stdio::piped()).stderr(Stdio::null()),
        Capture::Stderr => cmd.stdout(Stdio::null()).stderr(Stdio::piped()),
    };
    let mut child = cmd.spawn().map_err(RunError::Start)?;
    let mut stream: Box<dyn Read + Send> = match capture {
        Capture::Stdout => Box::new(child.stdout.take().expect("stdout is piped")),
        Capture::Stderr => Box::new(child.stderr.take().expect("stderr is piped")),
    };
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stream).take(cap).read_to_end(&mut buf);
        // Past the cap, keep reading into nothing: closing the pipe early would kill a
        // program still writing (SIGPIPE), such as oscap logging a long scan.
        let _ = std::io::copy(&mut stream, &mut std::io::sink());
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child
            .try_wait()
            .map_err(|e| RunError::Wait(e.to_string()))?
        {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut);
            }
            // Polling keeps this free of extra dependencies; a 5 ms tick costs nothing
            // beside the programs it waits for.
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    Ok((status, reader.join().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_argv_without_a_shell() {
        let argv = ["/bin/echo".to_string(), "$HOME; id".to_string()];
        assert_eq!(
            run(
                Some(&argv),
                None,
                Duration::from_secs(5),
                CommandOutput::Stdout
            )
            .unwrap(),
            "$HOME; id"
        );
        assert_eq!(
            run(
                None,
                Some("exit 3"),
                Duration::from_secs(5),
                CommandOutput::ExitCode
            )
            .unwrap(),
            "3"
        );
    }

    #[test]
    fn times_out_and_caps_output() {
        let err = run(
            None,
            Some("sleep 5"),
            Duration::from_millis(100),
            CommandOutput::Stdout,
        )
        .unwrap_err();
        assert!(err.starts_with("timed out"), "{err}");
        let out = run(
            None,
            Some("yes | head -c 200000"),
            Duration::from_secs(5),
            CommandOutput::Stdout,
        )
        .unwrap();
        assert!(out.len() <= MAX_OUTPUT_BYTES as usize);
        assert!(
            run(
                Some(&["/nonexistent".to_string()]),
                None,
                Duration::from_secs(1),
                CommandOutput::Stdout
            )
            .unwrap_err()
            .starts_with("cannot start")
        );
    }
}
