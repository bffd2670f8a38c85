//! Sessions against a real OpenSSH server (sshd/mod.rs): authentication, host key pinning,
//! quoting, output caps, deadlines and stdin uploads. Every await is under a timeout, so a
//! broken server or client fails a test instead of hanging the suite.

use bulwark_ssh::testing as sshd;

use std::future::Future;
use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use bulwark_ssh::{
    Auth, AuthMethod, HostKeyPolicy, RunLimits, RunOutput, Session, SshError, Target, Timeouts,
};
use sshd::Sshd;

/// The longest any test may take; far above what each needs.
const TEST_LIMIT: Duration = Duration::from_secs(60);

async fn within<T>(work: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_LIMIT, work)
        .await
        .expect("the test did not finish within its time limit")
}

fn limits() -> RunLimits {
    RunLimits {
        deadline: Duration::from_secs(20),
        max_output: 1024 * 1024,
    }
}

/// Connects with the server's own key pinned, as a scan would after approval.
async fn connect(sshd: &Sshd, target: &Target, auth: &Auth) -> Result<Session, SshError> {
    let policy = HostKeyPolicy::Pinned(sshd.host_key_line.clone());
    Session::connect(target, auth, &policy, Timeouts::default()).await
}

async fn logged_in(sshd: &Sshd) -> Session {
    let target = sshd.target(&sshd::current_user());
    match connect(sshd, &target, &sshd.key_auth()).await {
        Ok(session) => session,
        Err(error) => panic!("{error}\nsshd log:\n{}", sshd.log()),
    }
}

async fn run(session: &Session, argv: &[&str]) -> RunOutput {
    session.run(argv, None, limits()).await.expect(argv[0])
}

#[tokio::test]
async fn key_auth_runs_a_command_and_returns_its_output() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let session = logged_in(&sshd).await;
        assert_eq!(session.host_key_fingerprint(), sshd.host_fingerprint);
        let output = run(&session, &["id", "-u"]).await;
        assert_eq!(output.exit_status, Some(0));
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            sshd::local(&["id", "-u"])
        );
        assert!(output.stderr.is_empty() && !output.truncated, "{output:?}");
        session.close().await;
    })
    .await;
}

#[tokio::test]
async fn stderr_and_the_exit_status_are_reported_apart() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let session = logged_in(&sshd).await;
        let output = run(&session, &["sh", "-c", "echo out; echo err >&2; exit 3"]).await;
        assert_eq!(output.exit_status, Some(3));
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr, b"err\n");
        session.close().await;
    })
    .await;
}

#[tokio::test]
async fn an_encrypted_key_logs_in_with_its_passphrase_only() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let private = sshd::keygen(sshd.dir(), "locked_ed25519", Some("open sesame"));
        let public = std::fs::read_to_string(sshd::pub_path(&private)).unwrap();
        let authorized = sshd.dir().join("authorized_keys");
        let mut keys = std::fs::read_to_string(&authorized).unwrap();
        keys.push_str(&public);
        std::fs::write(&authorized, keys).unwrap();
        let pem = std::fs::read_to_string(&private).unwrap();
        let target = sshd.target(&sshd::current_user());

        let with = |passphrase: Option<&str>| Auth::PrivateKey {
            pem: pem.clone(),
            passphrase: passphrase.map(str::to_string),
        };
        let session = connect(&sshd, &target, &with(Some("open sesame")))
            .await
            .expect("the right passphrase");
        assert_eq!(run(&session, &["true"]).await.exit_status, Some(0));
        session.close().await;

        for (passphrase, why) in [
            (Some("wrong"), "passphrase is wrong"),
            (None, "no passphrase"),
        ] {
            match connect(&sshd, &target, &with(passphrase)).await {
                Err(error @ SshError::InvalidKey { .. }) => {
                    assert!(error.to_string().contains(why), "{error}");
                }
                Err(other) => panic!("{other}"),
                Ok(_) => panic!("logged in with {passphrase:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn an_unknown_key_is_refused_as_public_key_authentication() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let stranger = sshd::keygen(sshd.dir(), "stranger_ed25519", None);
        let auth = Auth::PrivateKey {
            pem: std::fs::read_to_string(stranger).unwrap(),
            passphrase: None,
        };
        let user = sshd::current_user();
        match connect(&sshd, &sshd.target(&user), &auth).await {
            Err(error @ SshError::AuthRefused { .. }) => {
                let SshError::AuthRefused {
                    method, accepted, ..
                } = &error
                else {
                    unreachable!()
                };
                assert_eq!(*method, AuthMethod::PublicKey);
                assert!(accepted.iter().any(|m| m == "publickey"), "{accepted:?}");
                let message = error.to_string();
                assert!(
                    message.contains("refused public key authentication")
                        && message.contains(&format!("{user:?}")),
                    "{message}"
                );
            }
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("a key that is not authorized logged in"),
        }
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_as_password_authentication() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let auth = Auth::Password("certainly not the password".into());
        match connect(&sshd, &sshd.target(&sshd::current_user()), &auth).await {
            Err(SshError::AuthRefused { method, .. }) => assert_eq!(method, AuthMethod::Password),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("a wrong password logged in"),
        }
    })
    .await;
}

#[tokio::test]
async fn a_password_logs_in_a_user_the_test_creates() {
    let Some(sshd) = Sshd::start() else { return };
    if !sshd::is_root() {
        eprintln!("skipped: creating the password user needs root");
        return;
    }
    // Declared after sshd, so dropped (userdel) before sshd is killed.
    let user = sshd::TempUser::create(sshd.dir());
    within(async {
        let auth = Auth::Password(user.password.clone());
        let session = match connect(&sshd, &sshd.target(&user.name), &auth).await {
            Ok(session) => session,
            Err(error) => panic!("{error}\nsshd log:\n{}", sshd.log()),
        };
        let output = run(&session, &["id", "-un"]).await;
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), user.name);

        // A user other than root has privilege separation: the deadline kills there too.
        let duration = format!("32.{}", std::process::id());
        let limits = RunLimits {
            deadline: Duration::from_secs(1),
            max_output: 1024,
        };
        let result = session.run(&["sleep", &duration], None, limits).await;
        assert!(
            matches!(result, Err(SshError::DeadlineExceeded { .. })),
            "{result:?}"
        );
        let pattern = format!("^sleep {duration}$");
        let gone_by = Instant::now() + Duration::from_secs(10);
        while !sshd::local(&["pgrep", "-f", &pattern]).is_empty() {
            assert!(
                Instant::now() < gone_by,
                "the user's command outlived its deadline"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        session.close().await;
    })
    .await;
}

#[tokio::test]
async fn first_contact_reports_the_host_key_and_refuses_to_go_on() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let target = sshd.target(&sshd::current_user());
        let result = Session::connect(
            &target,
            &sshd.key_auth(),
            &HostKeyPolicy::FirstContact,
            Timeouts::default(),
        )
        .await;
        match result {
            Err(error @ SshError::HostKeyPending { .. }) => {
                let SshError::HostKeyPending {
                    address,
                    fingerprint,
                    key,
                } = &error
                else {
                    unreachable!()
                };
                assert_eq!(*fingerprint, sshd.host_fingerprint);
                assert!(fingerprint.starts_with("SHA256:"));
                // The key line is the .pub file's type and key, ready to pin.
                let pub_file: Vec<&str> = sshd.host_key_line.split_whitespace().collect();
                assert_eq!(*key, pub_file[..2].join(" "));
                assert_eq!(*address, format!("127.0.0.1:{}", sshd.port));
                assert!(error.to_string().contains(fingerprint.as_str()), "{error}");
            }
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("first contact logged in without approval"),
        }
        // The credentials were never offered to the unapproved host.
        let log = sshd.log();
        assert!(
            !log.contains("Accepted") && !log.contains("Failed"),
            "authentication was attempted:\n{log}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_pinned_key_or_its_fingerprint_connects() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let target = sshd.target(&sshd::current_user());
        for pin in [sshd.host_key_line.clone(), sshd.host_fingerprint.clone()] {
            let policy = HostKeyPolicy::Pinned(pin.clone());
            let session = Session::connect(&target, &sshd.key_auth(), &policy, Timeouts::default())
                .await
                .unwrap_or_else(|error| panic!("pinned {pin}: {error}"));
            assert_eq!(run(&session, &["true"]).await.exit_status, Some(0));
            session.close().await;
        }
    })
    .await;
}

#[tokio::test]
async fn another_pinned_key_is_a_changed_host_key() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let other = sshd::pub_path(&sshd::keygen(sshd.dir(), "other_host", None));
        let other_line = std::fs::read_to_string(&other).unwrap();
        let other_fingerprint = sshd::fingerprint_of(&other);
        let target = sshd.target(&sshd::current_user());
        for pin in [other_line, other_fingerprint.clone()] {
            let policy = HostKeyPolicy::Pinned(pin);
            let result =
                Session::connect(&target, &sshd.key_auth(), &policy, Timeouts::default()).await;
            match result {
                Err(SshError::HostKeyChanged {
                    expected, offered, ..
                }) => {
                    assert_eq!(expected, other_fingerprint);
                    assert_eq!(offered, sshd.host_fingerprint);
                }
                Err(other) => panic!("{other}"),
                Ok(_) => panic!("connected to a host with another key than the pinned one"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn an_ecdsa_host_key_is_pinned_like_any_other() {
    let Some(sshd) = Sshd::start_with_host_key("ecdsa") else {
        return;
    };
    within(async {
        assert!(sshd.host_key_line.starts_with("ecdsa-sha2-nistp256 "));
        let session = logged_in(&sshd).await;
        assert_eq!(session.host_key_fingerprint(), sshd.host_fingerprint);
        session.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_host_with_only_an_rsa_key_is_refused_with_the_reason() {
    let Some(sshd) = Sshd::start_with_host_key("rsa") else {
        return;
    };
    within(async {
        let target = sshd.target(&sshd::current_user());
        let policy = HostKeyPolicy::FirstContact;
        match Session::connect(&target, &sshd.key_auth(), &policy, Timeouts::default()).await {
            Err(error @ SshError::Protocol { .. }) => {
                let message = error.to_string();
                assert!(
                    message.contains("no host key algorithm in common")
                        && message.contains("rsa-sha2-512")
                        && message.contains("ssh-ed25519"),
                    "{message}"
                );
            }
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("connected without verifying an RSA host key"),
        }
    })
    .await;
}

#[tokio::test]
async fn output_beyond_the_cap_is_dropped_and_reported() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let session = logged_in(&sshd).await;
        let cap = 1024 * 1024;
        let output = session
            .run(
                &["head", "-c", "10000000", "/dev/zero"],
                None,
                RunLimits {
                    deadline: Duration::from_secs(30),
                    max_output: cap,
                },
            )
            .await
            .expect("head");
        assert_eq!(output.exit_status, Some(0));
        assert!(output.truncated);
        assert_eq!(output.stdout.len(), cap);
        assert!(output.stdout.iter().all(|b| *b == 0));
        // The channel is still usable and so is the session.
        assert_eq!(run(&session, &["true"]).await.exit_status, Some(0));
        session.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_command_past_its_deadline_is_killed() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let session = logged_in(&sshd).await;
        // A duration no other process on this machine sleeps for, to find this one by.
        let duration = format!("30.{}", std::process::id());
        let pattern = format!("^sleep {duration}$");
        let started = Instant::now();
        let result = session
            .run(
                &["sleep", &duration],
                None,
                RunLimits {
                    deadline: Duration::from_secs(1),
                    max_output: 1024,
                },
            )
            .await;
        let took = started.elapsed();
        match result {
            Err(error @ SshError::DeadlineExceeded { .. }) => {
                assert!(error.to_string().contains("deadline"), "{error}");
            }
            other => panic!("{other:?}"),
        }
        assert!(took < Duration::from_secs(5), "answered after {took:?}");

        // The remote sleep is gone (sshd killed its process group), not left running.
        let gone_by = Instant::now() + Duration::from_secs(10);
        while !sshd::local(&["pgrep", "-f", &pattern]).is_empty() {
            assert!(
                Instant::now() < gone_by,
                "the remote `sleep {duration}` still runs after its deadline\nsshd log:\n{}",
                sshd.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The session survives a killed command.
        assert_eq!(run(&session, &["true"]).await.exit_status, Some(0));
        session.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_children_of_a_command_die_with_it_at_the_deadline() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let session = logged_in(&sshd).await;
        let duration = format!("31.{}", std::process::id());
        let pattern = format!("^sleep {duration}$");
        // A shell that is not replaced by its command, with a child in the background.
        let script = "sleep \"$1\" & sleep \"$1\"; wait";
        let limits = RunLimits {
            deadline: Duration::from_secs(1),
            max_output: 1024,
        };
        let result = session
            .run(&["sh", "-c", script, "sh", &duration], None, limits)
            .await;
        assert!(
            matches!(result, Err(SshError::DeadlineExceeded { .. })),
            "{result:?}"
        );
        let gone_by = Instant::now() + Duration::from_secs(10);
        while !sshd::local(&["pgrep", "-f", &pattern]).is_empty() {
            assert!(
                Instant::now() < gone_by,
                "a child of the command outlived its deadline"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        session.close().await;
    })
    .await;
}

#[tokio::test]
async fn stdin_is_uploaded_to_a_quoted_path_and_read_back() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let session = logged_in(&sshd).await;
        // Every byte value, a few hundred KiB: more than one window of the channel.
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let path = sshd.dir().join("up load 'it' $(touch pwned) `x`.bin");
        let path = path.to_str().unwrap();

        let written = session
            .run(
                &["sh", "-c", "cat > \"$1\"", "sh", path],
                Some(&bytes),
                limits(),
            )
            .await
            .expect("upload");
        assert_eq!(written.exit_status, Some(0), "{written:?}");
        assert_eq!(std::fs::read(path).unwrap(), bytes);
        assert!(!sshd.dir().join("pwned").exists());
        assert!(!std::path::Path::new("pwned").exists());

        let read = run(&session, &["cat", path]).await;
        assert_eq!(read.exit_status, Some(0));
        assert_eq!(read.stdout, bytes);
        session.close().await;
    })
    .await;
}

#[tokio::test]
async fn argv_reaches_the_remote_command_unchanged() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let session = logged_in(&sshd).await;
        let nasty = [
            "",
            "two words",
            "it's",
            "\"quoted\"",
            "$(id)",
            "`id`",
            "$HOME",
            "line\nbreak",
            "*",
            "~",
            "a;b&&c|d",
            "back\\slash",
        ];
        let mut argv = vec!["printf", "%s\\0"];
        argv.extend_from_slice(&nasty);
        let output = run(&session, &argv).await;
        assert_eq!(output.exit_status, Some(0), "{output:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        let received: Vec<&str> = text.split_terminator('\0').collect();
        assert_eq!(received, nasty);
        session.close().await;
    })
    .await;
}

#[tokio::test]
async fn commands_run_side_by_side_on_one_session() {
    let Some(sshd) = Sshd::start() else { return };
    within(async {
        let session = logged_in(&sshd).await;
        let (a, b, c) = tokio::join!(
            run(&session, &["echo", "a"]),
            run(&session, &["sh", "-c", "echo b >&2"]),
            session.run(&["cat"], Some(b"c"), limits()),
        );
        assert_eq!(a.stdout, b"a\n");
        assert_eq!(b.stderr, b"b\n");
        assert_eq!(c.expect("cat").stdout, b"c");
        session.close().await;
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_port_is_named_in_the_error() {
    within(async {
        // A port that was just free: nothing listens there.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let target = Target {
            address: "127.0.0.1".into(),
            port,
            user: "nobody".into(),
        };
        let result = Session::connect(
            &target,
            &Auth::Password("x".into()),
            &HostKeyPolicy::FirstContact,
            Timeouts::default(),
        )
        .await;
        match result {
            Err(error @ SshError::Unreachable { .. }) => {
                let message = error.to_string();
                assert!(
                    message.contains(&format!("cannot reach 127.0.0.1:{port}")),
                    "{message}"
                );
            }
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("connected to a closed port"),
        }
    })
    .await;
}

#[tokio::test]
async fn a_server_that_never_speaks_times_out() {
    within(async {
        // Connections complete in the kernel's backlog, but nobody ever answers.
        let silent = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = silent.local_addr().unwrap().port();
        let target = Target {
            address: "127.0.0.1".into(),
            port,
            user: "nobody".into(),
        };
        let timeouts = Timeouts {
            connect: Duration::from_secs(1),
            ..Timeouts::default()
        };
        let started = Instant::now();
        let result = Session::connect(
            &target,
            &Auth::Password("x".into()),
            &HostKeyPolicy::FirstContact,
            timeouts,
        )
        .await;
        assert!(
            matches!(result, Err(SshError::TimedOut { .. })),
            "{:?}",
            result.err()
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(silent);
    })
    .await;
}

#[tokio::test]
async fn an_rsa_key_is_refused_before_connecting_with_the_reason() {
    within(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rsa");
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let auth = Auth::PrivateKey {
            pem: std::fs::read_to_string(&path).unwrap(),
            passphrase: None,
        };
        // Port 9 (discard): never reached, the key is refused first.
        let target = Target {
            address: "127.0.0.1".into(),
            port: 9,
            user: "nobody".into(),
        };
        let policy = HostKeyPolicy::FirstContact;
        match Session::connect(&target, &auth, &policy, Timeouts::default()).await {
            Err(error @ SshError::InvalidKey { .. }) => {
                let message = error.to_string();
                assert!(
                    message.contains("ssh-rsa keys are not supported"),
                    "{message}"
                );
            }
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("connected"),
        }
    })
    .await;
}
