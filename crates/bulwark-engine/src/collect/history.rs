//! What happened on the host: installed updates (the Patches tab) and recent system log
//! entries (the Events tab). Updates come from dpkg's own log (every "status installed"
//! line, the current log and the last rotated one) or from the rpm database's install
//! times; events from journald's files through `journalctl` on a live host, else from the
//! syslog file (`/var/log/syslog` on Debian, `/var/log/messages` on Red Hat). Times in
//! dpkg's log and in classic syslog lines are the host's local time, read as UTC: a few
//! hours off on a host in another zone, never a different day's updates.

use bulwark_core::inventory::{EVENT_LEVELS, Event, Events, MAX_EVENTS, Patch};
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::host::HostRoot;

/// The most updates the Patches tab lists.
pub const MAX_PATCHES: usize = 500;

const DPKG_LOGS: [&str; 2] = ["/var/log/dpkg.log.1", "/var/log/dpkg.log"];

fn dpkg_time(date: &str, time: &str) -> Option<i64> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(&format!("{date} {time}"), format)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// Installs and upgrades in dpkg's log lines ("DATE TIME status installed PKG:ARCH VERSION"),
/// oldest first.
pub fn parse_dpkg_log(text: &str) -> Vec<Patch> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                [date, time, "status", "installed", package, version] => Some(Patch {
                    package: package.split(':').next().unwrap_or(package).to_owned(),
                    version: (*version).to_owned(),
                    installed_at: dpkg_time(date, time),
                    source: "dpkg".into(),
                }),
                _ => None,
            }
        })
        .collect()
}

/// The host's installed updates, newest first: dpkg's log, else the rpm database.
pub fn patches(host: &HostRoot) -> Vec<Patch> {
    let mut found: Vec<Patch> = DPKG_LOGS
        .iter()
        .filter_map(|path| host.read(path).ok().flatten())
        .flat_map(|text| parse_dpkg_log(&text))
        .collect();
    if found.is_empty() {
        found = super::packages::rpm_install_times(host).unwrap_or_default();
    }
    found.sort_by(|a, b| {
        b.installed_at
            .cmp(&a.installed_at)
            .then(a.package.cmp(&b.package))
    });
    found.truncate(MAX_PATCHES);
    found
}

/// journald's priority (0-7) as a level name.
fn level_of_priority(priority: &str) -> String {
    priority
        .parse::<usize>()
        .ok()
        .and_then(|p| EVENT_LEVELS.get(p))
        .copied()
        .unwrap_or("info")
        .to_owned()
}

/// One line of `journalctl -o json`.
fn journal_event(line: &str) -> Option<Event> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let text = |key: &str| v.get(key).and_then(|x| x.as_str()).map(str::to_owned);
    Some(Event {
        at: text("__REALTIME_TIMESTAMP")
            .and_then(|t| t.parse::<i64>().ok())
            .map(|micros| micros / 1_000_000),
        level: level_of_priority(&text("PRIORITY").unwrap_or_default()),
        source: text("SYSLOG_IDENTIFIER")
            .or_else(|| text("_COMM"))
            .unwrap_or_else(|| "kernel".into()),
        // A binary message arrives as an array of bytes; it is not shown.
        message: bounded(&text("MESSAGE").unwrap_or_else(|| "(binary message)".into())),
    })
}

/// The words a classic syslog line carries no level for, read from its message.
fn level_of_message(message: &str) -> &'static str {
    let lower = message.to_ascii_lowercase();
    if ["panic", "emerg"].iter().any(|w| lower.contains(w)) {
        "emergency"
    } else if ["critical", "fatal"].iter().any(|w| lower.contains(w)) {
        "critical"
    } else if ["error", "failed", "failure", "denied"]
        .iter()
        .any(|w| lower.contains(w))
    {
        "error"
    } else if lower.contains("warn") {
        "warning"
    } else {
        "info"
    }
}

/// One syslog line: RFC 3339 time (rsyslog's default on current systems) or the classic
/// "Mon DD HH:MM:SS" (the year taken from `now`), then host, then `source[pid]: message`.
pub fn parse_syslog_line(line: &str, now: OffsetDateTime) -> Option<Event> {
    let (at, rest) = match line.split_once(' ') {
        Some((first, rest)) if first.contains('T') => (
            OffsetDateTime::parse(first, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(|t| t.unix_timestamp()),
            rest,
        ),
        _ => {
            let stamp = line.get(..15)?;
            let format = format_description!(
                "[year] [month repr:short] [day padding:space] [hour]:[minute]:[second]"
            );
            let at = PrimitiveDateTime::parse(&format!("{} {stamp}", now.year()), format)
                .ok()
                .map(|t| t.assume_utc().unix_timestamp());
            (at, line.get(16..)?)
        }
    };
    let (_host, rest) = rest.split_once(' ')?;
    let (tag, message) = rest.split_once(": ").unwrap_or(("", rest));
    let source = tag.split('[').next().unwrap_or(tag).trim();
    Some(Event {
        at,
        level: level_of_message(message).into(),
        source: if source.is_empty() {
            "syslog".into()
        } else {
            source.into()
        },
        message: bounded(message.trim()),
    })
}

/// The longest message an event keeps.
const MAX_MESSAGE_CHARS: usize = 1000;

fn bounded(message: &str) -> String {
    message.chars().take(MAX_MESSAGE_CHARS).collect()
}

/// The newest entries of a syslog file, newest first.
pub fn syslog_events(text: &str, now: OffsetDateTime) -> Vec<Event> {
    let mut events: Vec<Event> = text
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| parse_syslog_line(l, now))
        .take(MAX_EVENTS)
        .collect();
    events.truncate(MAX_EVENTS);
    events
}

const SYSLOG_FILES: [&str; 2] = ["/var/log/syslog", "/var/log/messages"];

/// Recent system log entries: journald's files (a live host), else a syslog file.
pub fn events(host: &HostRoot) -> Events {
    let mut tried = Vec::new();
    if host.is_live() {
        match journal(host) {
            Ok(Some(events)) => return events,
            Ok(None) => tried.push("journald keeps no entries".to_owned()),
            Err(e) => tried.push(e),
        }
    }
    let now = OffsetDateTime::now_utc();
    for path in SYSLOG_FILES {
        if let Ok(Some(text)) = host.read(path) {
            return Events {
                origin: path.into(),
                entries: syslog_events(&text, now),
            };
        }
    }
    tried.push(format!("neither {} exists", SYSLOG_FILES.join(" nor ")));
    Events {
        origin: format!("no system log found: {}", tried.join("; ")),
        entries: vec![],
    }
}

/// journald's newest entries through `journalctl` (its files are not a format to parse by
/// hand); `None` when it has none.
fn journal(host: &HostRoot) -> Result<Option<Events>, String> {
    let directory = ["/var/log/journal", "/run/log/journal"]
        .into_iter()
        .find(|d| host.path(d).is_dir())
        .ok_or("journald has no files")?;
    let mut cmd = std::process::Command::new("journalctl");
    cmd.args(["--no-pager", "--output", "json", "--reverse", "--lines"])
        .arg(MAX_EVENTS.to_string())
        .arg("--directory")
        .arg(host.path(directory));
    let (status, out) = super::command::run_bounded(
        cmd,
        super::command::Capture::Stdout,
        16 * 1024 * 1024,
        std::time::Duration::from_secs(30),
    )
    .map_err(|e| format!("journalctl: {e:?}"))?;
    if !status.success() {
        return Err(format!("journalctl exited {status}"));
    }
    let entries: Vec<Event> = String::from_utf8_lossy(&out)
        .lines()
        .filter_map(journal_event)
        .take(MAX_EVENTS)
        .collect();
    Ok((!entries.is_empty()).then(|| Events {
        origin: "journald".into(),
        entries,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_log_installs_with_their_times() {
        let log = "2026-12-07 20:24:35 trigproc man-db:amd64 2.11.2-2 <none>\n\
                   2026-12-07 20:24:35 status half-configured man-db:amd64 2.11.2-2\n\
                   2026-12-07 20:24:42 status installed man-db:amd64 2.11.2-2\n\
                   2026-12-07 20:25:01 status installed openssl:amd64 3.0.15-1~deb12u1\n";
        let p = parse_dpkg_log(log);
        assert_eq!(p.len(), 2);
        assert_eq!(
            (
                p[1].package.as_str(),
                p[1].version.as_str(),
                p[1].installed_at
            ),
            ("openssl", "3.0.15-1~deb12u1", Some(1_796_675_101))
        );
    }

    #[test]
    fn syslog_lines_in_both_formats() {
        let now = OffsetDateTime::from_unix_timestamp(1_796_675_101).unwrap();
        let classic = parse_syslog_line(
            "Dec  7 20:24:42 web1 sshd[812]: error: PAM: Authentication failure for root",
            now,
        )
        .unwrap();
        assert_eq!(
            (classic.source.as_str(), classic.level.as_str(), classic.at),
            ("sshd", "error", Some(1_796_675_082))
        );
        let modern = parse_syslog_line(
            "2026-12-07T20:24:42.123456+00:00 web1 CRON[99]: (root) CMD (run-parts /etc/cron.hourly)",
            now,
        )
        .unwrap();
        assert_eq!(
            (modern.source.as_str(), modern.level.as_str()),
            ("CRON", "info")
        );
        assert_eq!(modern.at, Some(1_796_675_082));
        let kernel =
            parse_syslog_line("Dec  7 20:24:42 web1 kernel: warning: clock skew", now).unwrap();
        assert_eq!(
            (kernel.source.as_str(), kernel.level.as_str()),
            ("kernel", "warning")
        );
    }

    #[test]
    fn journal_entries_keep_priority_and_identifier() {
        let e = journal_event(r#"{"__REALTIME_TIMESTAMP":"1796674682123456","PRIORITY":"3","SYSLOG_IDENTIFIER":"sshd","MESSAGE":"Failed password"}"#).unwrap();
        assert_eq!(
            (e.at, e.level.as_str(), e.source.as_str()),
            (Some(1_796_674_682), "error", "sshd")
        );
    }
}
