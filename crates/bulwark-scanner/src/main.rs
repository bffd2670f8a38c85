//! `bulwark-scanner --job FILE [--deadline-secs N]`: scans this host (`/`) with the checks of
//! a job file and prints the answer as one JSON document on stdout. Agentless scanning
//! uploads it with the job over SSH and runs it under sudo; nothing else runs it.
//!
//! Exit codes: 0 answered; 2 bad job or unreadable host; 3 this process may not start other
//! programs (sudo's NOEXEC), which several checks need; 124 past the deadline.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bulwark_scanner::ScanRequest;

const USAGE: &str = "usage: bulwark-scanner --job FILE [--deadline-secs N]";

struct Args {
    job: PathBuf,
    deadline: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut job = None;
    let mut deadline = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--job" => job = args.next().map(PathBuf::from),
            "--deadline-secs" => {
                let value = args.next().unwrap_or_default();
                let secs: u64 = value
                    .parse()
                    .map_err(|_| format!("--deadline-secs takes seconds, got {value:?}"))?;
                deadline = Some(Duration::from_secs(secs));
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        job: job.ok_or(USAGE)?,
        deadline,
    })
}

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("bulwark-scanner: {message}");
    ExitCode::from(code)
}

/// Service states and package queries run programs (systemctl, rpm, init scripts through
/// `service`); under sudo's NOEXEC those programs may not start others, and their answers
/// would quietly be wrong. Refuse up front. This program is static, so sudo's preloaded
/// library does not bind it: the variable sudo sets for its children is what tells.
fn may_start_programs() -> Result<(), String> {
    if std::env::var("LD_PRELOAD").is_ok_and(|v| v.contains("sudo_noexec")) {
        return Err(
            "sudo runs the scanner with NOEXEC, under which the programs it asks (systemctl, rpm, init scripts) cannot start others and would answer wrongly; drop NOEXEC from the scanner's sudoers rule".into(),
        );
    }
    let program = ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("true");
    match std::process::Command::new(program).status() {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(format!(
            "cannot start other programs ({program}: {e}); sudo's NOEXEC is set for this command, and checks that ask systemctl or rpm need it off"
        )),
        // A host without `true` is odd but does not stop the scan.
        Err(_) => Ok(()),
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => return fail(2, e),
    };
    if let Some(deadline) = args.deadline {
        // The remote `timeout` kills sudo, which cannot pass SIGKILL on to a root process:
        // the scanner keeps its own deadline too.
        std::thread::spawn(move || {
            std::thread::sleep(deadline);
            eprintln!(
                "bulwark-scanner: stopped at its deadline of {} s",
                deadline.as_secs()
            );
            std::process::exit(124);
        });
    }
    let text = match std::fs::read_to_string(&args.job) {
        Ok(text) => text,
        Err(e) => {
            return fail(
                2,
                format!("cannot read the job {}: {e}", args.job.display()),
            );
        }
    };
    let request: ScanRequest = match serde_json::from_str(&text) {
        Ok(request) => request,
        Err(e) => return fail(2, format!("{}: not a scan job: {e}", args.job.display())),
    };
    if let Err(e) = may_start_programs() {
        return fail(3, e);
    }
    match bulwark_scanner::run(std::path::Path::new("/"), request) {
        Ok(answer) => match serde_json::to_writer(std::io::stdout().lock(), &answer) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(2, format!("writing the answer: {e}")),
        },
        Err(e) => fail(2, e),
    }
}
