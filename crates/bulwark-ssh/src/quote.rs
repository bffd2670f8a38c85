//! Turning an argv into the one string SSH can carry. sshd always runs the command line with
//! the login user's shell (`$SHELL -c LINE`), so this quoting is the safety boundary between
//! an argument and a command: each element is single-quoted for a POSIX shell, where nothing
//! inside single quotes is special, and a single quote itself is closed, escaped and reopened.
//!
//! The login shell must be POSIX-like (sh, dash, bash, ksh, zsh, busybox ash). csh and fish
//! read quotes differently; such an account is not a supported scan user.

use crate::SshError;

/// Bytes that need no quoting in any POSIX shell, in any position.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ',' | ':' | '@' | '%' | '+')
}

/// Quotes one argument so that a POSIX shell reads it back as exactly one word, unchanged.
/// Plain words are left as they are, to keep command lines readable in logs.
pub fn shell_quote(arg: &str) -> String {
    // `=` is left out of the plain set (a leading `NAME=` would be an assignment), and so is
    // `~` (tilde expansion) and everything that globs, expands or separates.
    if !arg.is_empty() && arg.chars().all(is_plain) {
        return arg.to_string();
    }
    let mut quoted = String::with_capacity(arg.len() + 2);
    quoted.push('\'');
    for c in arg.chars() {
        if c == '\'' {
            quoted.push_str(r"'\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    quoted
}

/// The command line for an argv: each element quoted, joined by spaces. A NUL byte is
/// refused: SSH strings are C strings to sshd, so it would cut the command short.
pub fn command_line(argv: &[&str]) -> Result<String, SshError> {
    if argv.is_empty() {
        return Err(SshError::InvalidCommand {
            reason: "the argv is empty".into(),
        });
    }
    if let Some(index) = argv.iter().position(|arg| arg.contains('\0')) {
        return Err(SshError::InvalidCommand {
            reason: format!("argument {index} contains a NUL byte"),
        });
    }
    Ok(argv
        .iter()
        .map(|arg| shell_quote(arg))
        .collect::<Vec<_>>()
        .join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    const NASTY: &[&str] = &[
        "",
        " ",
        "two words",
        "'",
        "''",
        "it's",
        "\"double\"",
        "$(touch /tmp/bulwark-ssh-pwned)",
        "`touch /tmp/bulwark-ssh-pwned`",
        "${HOME}",
        "$HOME",
        "a\nb",
        "\n",
        "tab\there",
        "back\\slash",
        "\\'",
        "*",
        "?",
        "[a-z]",
        "~",
        "~root",
        "a=b",
        "-n",
        "--",
        ";",
        "&&",
        "|",
        "> /tmp/x",
        "#comment",
        "!",
        "{a,b}",
        "\u{1b}[31mred",
        "ünïcödé ✓",
        "\r",
    ];

    /// What `sh -c LINE` receives as its arguments, one per NUL-terminated record.
    fn through_sh(argv: &[&str]) -> Vec<String> {
        let mut line_argv = vec!["printf", "%s\\0"];
        line_argv.extend_from_slice(argv);
        let line = command_line(&line_argv).unwrap();
        let output = Command::new("sh").arg("-c").arg(&line).output().unwrap();
        assert!(output.status.success(), "sh -c {line:?}: {output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        let mut words: Vec<String> = stdout.split('\0').map(str::to_string).collect();
        assert_eq!(words.pop().as_deref(), Some(""), "{line:?}");
        words
    }

    #[test]
    fn nasty_arguments_survive_a_real_shell() {
        assert_eq!(through_sh(NASTY), NASTY);
        assert!(!std::path::Path::new("/tmp/bulwark-ssh-pwned").exists());
    }

    #[test]
    fn plain_words_stay_readable_and_the_rest_is_single_quoted() {
        assert_eq!(shell_quote("/usr/bin/id"), "/usr/bin/id");
        assert_eq!(shell_quote("-u"), "-u");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(x)"), "'$(x)'");
        assert_eq!(shell_quote("a=b"), "'a=b'");
        assert_eq!(shell_quote("~"), "'~'");
        assert_eq!(
            command_line(&["sh", "-c", "cat > \"$1\"", "sh", "/tmp/a b"]).unwrap(),
            r#"sh -c 'cat > "$1"' sh '/tmp/a b'"#
        );
    }

    #[test]
    fn empty_argv_and_nul_bytes_are_refused() {
        assert!(matches!(
            command_line(&[]),
            Err(SshError::InvalidCommand { .. })
        ));
        let error = command_line(&["echo", "a\0b"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid command: argument 1 contains a NUL byte"
        );
    }

    proptest! {
        // Each case starts a shell: a few dozen cases cover the grammar without slowing the suite.
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_argv_survives_a_real_shell(argv in prop::collection::vec("[^\0]{0,12}", 1..5)) {
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            prop_assert_eq!(through_sh(&refs), argv);
        }
    }
}
