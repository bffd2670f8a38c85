//! Local users and groups, with the shadow tools every Linux distribution ships (`useradd`,
//! `userdel`, `usermod`, `chpasswd`, `groupadd`, `groupdel`, `gpasswd`). A password reaches
//! `chpasswd` on stdin, never the command line; reports never carry it.

use std::path::Path;
use std::time::Duration;

use super::Report;
use super::run::run;

const TIMEOUT: Duration = Duration::from_secs(60);

/// The group whose members may become root: `sudo` (Debian, Ubuntu) or `wheel` (Red Hat,
/// SUSE), whichever this host has.
pub fn admin_group(root: &Path) -> Option<&'static str> {
    let groups = std::fs::read_to_string(root.join("etc/group")).unwrap_or_default();
    ["sudo", "wheel"]
        .into_iter()
        .find(|g| groups.lines().any(|l| l.split(':').next() == Some(*g)))
}

fn entry_exists(root: &Path, file: &str, name: &str) -> bool {
    std::fs::read_to_string(root.join(file))
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(':').next() == Some(name))
}

pub fn user_exists(root: &Path, name: &str) -> bool {
    entry_exists(root, "etc/passwd", name)
}

pub fn group_exists(root: &Path, name: &str) -> bool {
    entry_exists(root, "etc/group", name)
}

/// Runs one tool; its complaint becomes the failure.
fn tool(argv: &[&str], input: Option<&[u8]>, done: String) -> Report {
    match run(argv, input, TIMEOUT) {
        Ok(ran) if ran.ok() => Report::from_run(true, done, ran),
        Ok(ran) => {
            let why = ran.complaint();
            Report::from_run(false, format!("{} failed: {why}", argv[0]), ran)
        }
        Err(e) => Report::failed(e),
    }
}

fn set_password(name: &str, password: &[u8]) -> Report {
    let mut line = Vec::with_capacity(name.len() + password.len() + 2);
    line.extend_from_slice(name.as_bytes());
    line.push(b':');
    line.extend_from_slice(password);
    line.push(b'\n');
    tool(
        &["chpasswd"],
        Some(&line),
        format!("the password of {name} was set"),
    )
}

pub fn create_user(root: &Path, name: &str, admin: bool, password: Option<&[u8]>) -> Report {
    if user_exists(root, name) {
        return Report::failed(format!("user {name} already exists"));
    }
    let group = match admin {
        true => match admin_group(root) {
            Some(g) => Some(g),
            None => return Report::failed("this host has neither a sudo nor a wheel group".into()),
        },
        false => None,
    };
    let mut argv = vec!["useradd", "--create-home", "--shell", "/bin/bash"];
    if let Some(g) = group {
        argv.extend(["--groups", g]);
    }
    argv.extend(["--", name]);
    let created = tool(&argv, None, String::new());
    if !created.succeeded {
        return created;
    }
    if let Some(password) = password {
        let set = set_password(name, password);
        if !set.succeeded {
            return set;
        }
    }
    let what = match group {
        Some(g) => format!("user {name} was created, a member of {g}"),
        None => format!("user {name} was created"),
    };
    Report::done(match password {
        Some(_) => format!("{what}, with a password"),
        None => format!("{what}, without a password (locked until one is set)"),
    })
}

pub fn delete_user(root: &Path, name: &str) -> Report {
    if !user_exists(root, name) {
        return Report::failed(format!("no such user: {name}"));
    }
    tool(
        &["userdel", "--remove", "--", name],
        None,
        format!("user {name} was deleted with its home"),
    )
}

pub fn set_enabled(root: &Path, name: &str, enabled: bool) -> Report {
    if !user_exists(root, name) {
        return Report::failed(format!("no such user: {name}"));
    }
    // Locking the password alone leaves key logins open; the account's expiry closes them.
    match enabled {
        true => tool(
            &["usermod", "--unlock", "--expiredate", "", "--", name],
            None,
            format!("user {name} was enabled"),
        ),
        false => tool(
            &["usermod", "--lock", "--expiredate", "1", "--", name],
            None,
            format!("user {name} was disabled (password locked, account expired)"),
        ),
    }
}

pub fn reset_password(root: &Path, name: &str, password: &[u8]) -> Report {
    if !user_exists(root, name) {
        return Report::failed(format!("no such user: {name}"));
    }
    set_password(name, password)
}

pub fn create_group(root: &Path, name: &str) -> Report {
    if group_exists(root, name) {
        return Report::failed(format!("group {name} already exists"));
    }
    tool(
        &["groupadd", "--", name],
        None,
        format!("group {name} was created"),
    )
}

pub fn delete_group(root: &Path, name: &str) -> Report {
    if !group_exists(root, name) {
        return Report::failed(format!("no such group: {name}"));
    }
    tool(
        &["groupdel", "--", name],
        None,
        format!("group {name} was deleted"),
    )
}

pub fn membership(root: &Path, group: &str, user: &str, add: bool) -> Report {
    if !group_exists(root, group) {
        return Report::failed(format!("no such group: {group}"));
    }
    if !user_exists(root, user) {
        return Report::failed(format!("no such user: {user}"));
    }
    match add {
        true => tool(
            &["gpasswd", "--add", user, group],
            None,
            format!("{user} was added to {group}"),
        ),
        false => tool(
            &["gpasswd", "--delete", user, group],
            None,
            format!("{user} was removed from {group}"),
        ),
    }
}
