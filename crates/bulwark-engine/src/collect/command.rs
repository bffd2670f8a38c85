//! The escape hatch: run a program and judge its output. argv runs without a shell; a shell is
//! used only when the content asks for one. Output is capped and a timeout kills the process.

use std::io::Read;
use std::process::{Command, Stdio};
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
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| format!("cannot start: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.take(MAX_OUTPUT_BYTES).read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {}s", timeout.as_secs()));
            }
            // Polling keeps this free of extra dependencies; checks are few and short.
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let bytes = reader.join().unwrap_or_default();
    match output {
        CommandOutput::ExitCode => Ok(status
            .code()
            .map_or_else(|| "signal".to_string(), |c| c.to_string())),
        CommandOutput::Stdout => Ok(String::from_utf8_lossy(&bytes).trim().to_string()),
    }
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
