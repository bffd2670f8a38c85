//! One table of cases per check kind: a probe (and expectation), a fake host, and the status
//! the engine must give. Kinds' finer parsing rules are unit-tested in their modules.

use bulwark_core::template::TestCase;
use bulwark_core::{Expectation, OsKind, Probe, Status};
use bulwark_engine::evaluate::run_probe;
use bulwark_engine::fixture::FixtureRoot;
use bulwark_engine::{Facts, HostRoot};

struct Case {
    probe: &'static str,
    expect: Option<&'static str>,
    host: &'static str,
    want: Status,
}

const fn case(
    probe: &'static str,
    expect: Option<&'static str>,
    host: &'static str,
    want: Status,
) -> Case {
    Case {
        probe,
        expect,
        host,
        want,
    }
}

use Status::{Fail, Pass, Skip};

fn check(cases: &[Case]) {
    for (i, c) in cases.iter().enumerate() {
        let probe: Probe =
            serde_saphyr::from_str(c.probe).unwrap_or_else(|e| panic!("case {i} probe: {e}"));
        let expect: Option<Expectation> = c
            .expect
            .map(|e| serde_saphyr::from_str(e).unwrap_or_else(|e| panic!("case {i} expect: {e}")));
        let host: TestCase =
            serde_saphyr::from_str(c.host).unwrap_or_else(|e| panic!("case {i} host: {e}"));
        let root = FixtureRoot::new(&host).unwrap();
        let host_root = if host.live {
            HostRoot::with_live_proc(root.path())
        } else {
            HostRoot::offline(root.path())
        };
        let os = host_root.detect_os().unwrap();
        let outcome = run_probe(&Facts::new(host_root, os), &probe, expect.as_ref());
        assert_eq!(outcome.status, c.want, "case {i}: {}\n{outcome:?}", c.probe);
    }
}

#[test]
fn file_exists() {
    check(&[
        case(
            "{kind: file_exists, path: /etc/issue}",
            None,
            "files: {/etc/issue: hi}",
            Pass,
        ),
        case("{kind: file_exists, path: /etc/issue}", None, "{}", Fail),
        case(
            "{kind: file_exists, path: /etc/hosts.equiv}",
            Some("{op: absent}"),
            "{}",
            Pass,
        ),
    ]);
}

#[test]
fn file_permissions() {
    check(&[
        case(
            "{kind: file_permissions, path: /etc/passwd, max_mode: '0644', owner: root, group: root}",
            None,
            "{}",
            Pass,
        ),
        case(
            "{kind: file_permissions, path: /etc/passwd, max_mode: '0600'}",
            None,
            "{}",
            Fail,
        ),
        case(
            "{kind: file_permissions, path: /etc/shadow, max_mode: '0640', group: [root, shadow]}",
            None,
            "{}",
            Pass,
        ),
        case(
            "{kind: file_permissions, path: /etc/shadow, owner: root}",
            None,
            "files: {/etc/shadow: {mode: '0640', owner: 100}}",
            Fail,
        ),
        case(
            "{kind: file_permissions, path: /etc/ssh/ssh_host_*_key, max_mode: '0600'}",
            None,
            "files: {/etc/ssh/ssh_host_rsa_key: {mode: '0600'}, /etc/ssh/ssh_host_ed25519_key: {mode: '0644'}}",
            Fail,
        ),
        case(
            "{kind: file_permissions, path: /etc/issue.net, max_mode: '0644'}",
            None,
            "{}",
            Skip,
        ),
        case(
            "{kind: file_permissions, path: /etc/issue.net, max_mode: '0644', missing: fail}",
            None,
            "{}",
            Fail,
        ),
    ]);
}

/// Private keys are found by what they hold, wherever they sit under /etc/ssh and whatever
/// their name.
#[test]
fn file_permissions_of_files_found_by_content() {
    const KEYS: &str = "{kind: file_permissions, path: '/etc/ssh/**/*', containing: '^-----BEGIN [A-Z ]*PRIVATE KEY-----', max_mode: '0600', owner: root}";
    check(&[
        case(
            KEYS,
            None,
            "files: {/etc/ssh/ssh_host_ed25519_key: {content: \"-----BEGIN OPENSSH PRIVATE KEY-----\\nx\\n\", mode: '0600'}, /etc/ssh/ssh_host_ed25519_key.pub: {content: \"ssh-ed25519 AAAA\\n\", mode: '0644'}}",
            Pass,
        ),
        case(
            KEYS,
            None,
            "files: {/etc/ssh/ssh_host_ed25519_key: {content: \"-----BEGIN OPENSSH PRIVATE KEY-----\\n\", mode: '0600'}, /etc/ssh/keys/backup.pem: {content: \"-----BEGIN RSA PRIVATE KEY-----\\n\", mode: '0644'}}",
            Fail,
        ),
        case(
            KEYS,
            None,
            "files: {/etc/ssh/sshd_config: \"PermitRootLogin no\\n\"}",
            Skip,
        ),
    ]);
}

/// The judged path follows the setting that names it (auditd.conf's log_file).
#[test]
fn file_permissions_of_a_path_named_by_a_setting() {
    const LOG_DIR: &str = "{kind: file_permissions, path: /var/log/audit, path_from: {file: /etc/audit/auditd.conf, format: equals, key: log_file, take: directory}, max_mode: '0750'}";
    const LOG_FILES: &str = "{kind: file_permissions, path: '/var/log/audit/*', path_from: {file: /etc/audit/auditd.conf, format: equals, key: log_file, take: directory_files}, max_mode: '0640'}";
    check(&[
        case(
            LOG_DIR,
            None,
            "files: {/var/log/audit: {dir: true, mode: '0750'}}",
            Pass,
        ),
        // The default location is fine, but the configured one is open to everyone.
        case(
            LOG_DIR,
            None,
            "files: {/etc/audit/auditd.conf: \"log_file = /srv/audit/audit.log\\n\", /var/log/audit: {dir: true, mode: '0750'}, /srv/audit: {dir: true, mode: '0777'}}",
            Fail,
        ),
        case(
            LOG_DIR,
            None,
            "files: {/etc/audit/auditd.conf: \"log_file = /srv/audit/audit.log\\n\", /var/log/audit: {dir: true, mode: '0777'}, /srv/audit: {dir: true, mode: '0700'}}",
            Pass,
        ),
        case(
            LOG_FILES,
            None,
            "files: {/etc/audit/auditd.conf: \"log_file = /srv/audit/audit.log\\n\", /srv/audit/audit.log: {mode: '0644'}}",
            Fail,
        ),
        case(
            LOG_FILES,
            None,
            "files: {/etc/audit/auditd.conf: \"log_file = /srv/audit/audit.log\\n\", /srv/audit/audit.log: {mode: '0600'}, /var/log/audit/audit.log: {mode: '0644'}}",
            Pass,
        ),
    ]);
}

#[test]
fn file_content() {
    let sudoers =
        "files: {/etc/sudoers: 'Defaults env_reset\\n', /etc/sudoers.d/pty: 'Defaults use_pty\\n'}";
    check(&[
        case(
            "{kind: file_content, path: [/etc/sudoers, /etc/sudoers.d/*], pattern: '^\\s*Defaults\\s+use_pty', match: any}",
            None,
            sudoers,
            Pass,
        ),
        case(
            "{kind: file_content, path: /etc/sudoers, pattern: '^\\s*Defaults\\s+use_pty', match: any}",
            None,
            sudoers,
            Fail,
        ),
        case(
            "{kind: file_content, path: '/etc/sudoers*', pattern: NOPASSWD, match: none}",
            None,
            sudoers,
            Pass,
        ),
        case(
            "{kind: file_content, path: /etc/shells, pattern: '^/', match: all}",
            None,
            "files: {/etc/shells: \"# shells\\n/bin/sh\\n/bin/bash\\n\"}",
            Pass,
        ),
        case(
            "{kind: file_content, path: /etc/shells, pattern: '^/', match: all}",
            None,
            "files: {/etc/shells: \"/bin/sh\\nnologin\\n\"}",
            Fail,
        ),
        case(
            "{kind: file_content, path: /etc/x.conf, pattern: a, match: any, missing: skip}",
            None,
            "{}",
            Skip,
        ),
        // A link out of an offline root is followed inside the root, never to the scanner's /dev/zero.
        case(
            "{kind: file_content, path: /etc/zero, pattern: a, match: any}",
            None,
            "files: {/etc/zero: {symlink: /dev/zero}}",
            Fail,
        ),
        case(
            "{kind: file_content, path: /etc/sub, pattern: a, match: any}",
            None,
            "files: {/etc/sub: {symlink: /etc/real}, /etc/real: {dir: true}}",
            Fail,
        ),
    ]);
}

/// `lines` picks the lines that set something; with `match: all` every one of them must be
/// compliant and at least one must exist, so a later file that loosens the setting is caught.
#[test]
fn file_content_of_the_lines_that_set_something() {
    const CORE: &str = "{kind: file_content, path: [/etc/security/limits.conf, /etc/security/limits.d/*.conf], lines: '^\\s*\\*\\s+(hard|-)\\s+core\\b', pattern: '\\s0\\s*$', match: all}";
    check(&[
        case(
            CORE,
            None,
            "files: {/etc/security/limits.conf: \"* hard core 0\\n\"}",
            Pass,
        ),
        case(
            CORE,
            None,
            "files: {/etc/security/limits.conf: \"* hard core 0\\n\", /etc/security/limits.d/90-dev.conf: \"* hard core unlimited\\n\"}",
            Fail,
        ),
        case(
            CORE,
            None,
            "files: {/etc/security/limits.conf: \"root hard core 0\\n* soft core 0\\n\"}",
            Fail,
        ),
        case(CORE, None, "{}", Fail),
    ]);
}

/// rsyslog and nftables load the files their include directives name; those count too.
#[test]
fn file_content_following_includes() {
    const MODE: &str = "{kind: file_content, path: /etc/rsyslog.conf, includes: rsyslog, lines: '^\\s*\\$FileCreateMode\\b', pattern: '\\s0?[0-6][0-4]0\\s*$', match: all}";
    const NFT: &str = "{kind: file_content, path: /etc/nftables.conf, includes: nftables, pattern: 'type filter hook input priority', match: any}";
    check(&[
        case(
            MODE,
            None,
            "files: {/etc/rsyslog.conf: \"$FileCreateMode 0640\\n$IncludeConfig /etc/rsyslog.d/*.conf\\n\", /etc/rsyslog.d/50-default.conf: \"*.* /var/log/all\\n\"}",
            Pass,
        ),
        case(
            MODE,
            None,
            "files: {/etc/rsyslog.conf: \"$FileCreateMode 0640\\n$IncludeConfig /etc/rsyslog.d/*.conf\\n\", /etc/rsyslog.d/50-default.conf: \"$FileCreateMode 0644\\n\"}",
            Fail,
        ),
        // RainerScript include() and a directory given with a trailing slash.
        case(
            MODE,
            None,
            "files: {/etc/rsyslog.conf: \"$FileCreateMode 0640\\ninclude(file=\\\"/etc/rsyslog.local/\\\" mode=\\\"optional\\\")\\n\", /etc/rsyslog.local/x.conf: \"$FileCreateMode 0666\\n\"}",
            Fail,
        ),
        // A commented include is not followed.
        case(
            MODE,
            None,
            "files: {/etc/rsyslog.conf: \"$FileCreateMode 0640\\n#$IncludeConfig /etc/rsyslog.d/*.conf\\n\", /etc/rsyslog.d/50-default.conf: \"$FileCreateMode 0644\\n\"}",
            Pass,
        ),
        // Includes that include each other are read once.
        case(
            MODE,
            None,
            "files: {/etc/rsyslog.conf: \"$IncludeConfig /etc/rsyslog.d/*.conf\\n\", /etc/rsyslog.d/a.conf: \"$FileCreateMode 0600\\n$IncludeConfig /etc/rsyslog.conf\\n\"}",
            Pass,
        ),
        case(
            NFT,
            None,
            "files: {/etc/nftables.conf: \"flush ruleset\\ninclude \\\"/etc/nftables.d/*.nft\\\"\\n\", /etc/nftables.d/filter.nft: \"table inet filter { chain input { type filter hook input priority 0; policy drop; } }\\n\"}",
            Pass,
        ),
        case(
            NFT,
            None,
            "files: {/etc/nftables.conf: \"flush ruleset\\n\", /etc/nftables.d/filter.nft: \"table inet filter { chain input { type filter hook input priority 0; policy drop; } }\\n\"}",
            Fail,
        ),
    ]);
}

#[test]
fn config_value() {
    let sshd = "files: {/etc/ssh/sshd_config: \"Include /etc/ssh/sshd_config.d/*.conf\\nPermitRootLogin no\\n\", /etc/ssh/sshd_config.d/50-cloud.conf: \"PermitRootLogin yes\\n\"}";
    check(&[
        case(
            "{kind: config_value, path: /etc/ssh/sshd_config, format: sshd, key: PermitRootLogin}",
            Some("{op: equals, value: 'no'}"),
            sshd,
            Fail,
        ),
        case(
            "{kind: config_value, path: /etc/ssh/sshd_config, format: sshd, key: MaxAuthTries, default: '6'}",
            Some("{op: le, value: 4}"),
            sshd,
            Fail,
        ),
        case(
            "{kind: config_value, path: /etc/ssh/sshd_config, format: sshd, key: PermitEmptyPasswords, default: 'no'}",
            Some("{op: equals, value: 'no'}"),
            sshd,
            Pass,
        ),
        case(
            "{kind: config_value, path: /etc/login.defs, format: space, key: PASS_MAX_DAYS}",
            Some("{op: le, value: 365}"),
            "files: {/etc/login.defs: \"PASS_MAX_DAYS 90\\n\"}",
            Pass,
        ),
        case(
            "{kind: config_value, path: /etc/login.defs, format: space, key: PASS_MAX_DAYS}",
            Some("{op: le, value: 365}"),
            "{}",
            Fail,
        ),
        case(
            "{kind: config_value, path: /etc/audit/auditd.conf, format: equals, key: max_log_file_action}",
            Some("{op: equals, value: keep_logs, ignore_case: true}"),
            "files: {/etc/audit/auditd.conf: \"max_log_file_action = KEEP_LOGS\\n\"}",
            Pass,
        ),
        case(
            "{kind: config_value, path: /etc/systemd/journald.conf, format: systemd, section: Journal, key: Storage, dropins: /etc/systemd/journald.conf.d/*.conf}",
            Some("{op: equals, value: persistent}"),
            "files: {/etc/systemd/journald.conf: \"[Journal]\\nStorage=auto\\n\", /etc/systemd/journald.conf.d/cis.conf: \"[Journal]\\nStorage=persistent\\n\"}",
            Pass,
        ),
    ]);
}

#[test]
fn pam() {
    let host = "files: {/etc/pam.d/common-password: \"password requisite pam_pwhistory.so remember=24 enforce_for_root\\npassword [success=1 default=ignore] pam_unix.so yescrypt nullok\\n\"}";
    check(&[
        case(
            "{kind: pam, service: common-password, type: password, module: pam_pwhistory.so, arg: remember}",
            Some("{op: ge, value: 24}"),
            host,
            Pass,
        ),
        case(
            "{kind: pam, service: common-password, type: password, module: pam_unix.so, arg: nullok}",
            Some("{op: absent}"),
            host,
            Fail,
        ),
        case(
            "{kind: pam, service: common-password, type: password, module: pam_faillock.so}",
            Some("{op: exists}"),
            host,
            Fail,
        ),
        case(
            "{kind: pam, service: common-auth, type: auth, module: pam_unix.so}",
            Some("{op: exists}"),
            "{}",
            Fail,
        ),
    ]);
}

#[test]
fn sysctl() {
    check(&[
        case(
            "{kind: sysctl, key: net.ipv4.ip_forward}",
            Some("{op: equals, value: 0}"),
            "files: {/etc/sysctl.d/60.conf: \"net.ipv4.ip_forward = 0\\n\"}",
            Pass,
        ),
        case(
            "{kind: sysctl, key: net.ipv4.ip_forward}",
            Some("{op: equals, value: 0}"),
            "files: {/etc/sysctl.d/60.conf: \"net.ipv4.ip_forward = 0\\n\", /etc/sysctl.d/99.conf: \"net.ipv4.ip_forward = 1\\n\"}",
            Fail,
        ),
        // A compliant file that wins does not hide a non-compliant one that loses.
        case(
            "{kind: sysctl, key: net.ipv4.ip_forward}",
            Some("{op: equals, value: 0}"),
            "files: {/usr/lib/sysctl.d/50-vendor.conf: \"net.ipv4.ip_forward = 1\\n\", /etc/sysctl.d/99-hardening.conf: \"net.ipv4.ip_forward = 0\\n\"}",
            Fail,
        ),
        case(
            "{kind: sysctl, key: net.ipv4.ip_forward}",
            Some("{op: equals, value: 0}"),
            "files: {/etc/sysctl.d/60.conf: \"net.ipv4.ip_forward = 0\\n\", /etc/sysctl.conf: \"# old\\nnet.ipv4.ip_forward=1\\n\"}",
            Fail,
        ),
        // A vendor file hidden by an /etc file of the same name is not read at boot.
        case(
            "{kind: sysctl, key: net.ipv4.ip_forward}",
            Some("{op: equals, value: 0}"),
            "files: {/usr/lib/sysctl.d/50-net.conf: \"net.ipv4.ip_forward = 1\\n\", /etc/sysctl.d/50-net.conf: \"net.ipv4.ip_forward = 0\\n\"}",
            Pass,
        ),
        // /etc/sysctl.conf counts without Debian's 99-sysctl.conf link, and once with it.
        case(
            "{kind: sysctl, key: net.ipv4.ip_forward}",
            Some("{op: equals, value: 0}"),
            "files: {/etc/sysctl.conf: \"net.ipv4.ip_forward = 0\\n\"}",
            Pass,
        ),
        case(
            "{kind: sysctl, key: net.ipv4.ip_forward}",
            Some("{op: equals, value: 0}"),
            "files: {/etc/sysctl.conf: \"net.ipv4.ip_forward = 1\\n\", /etc/sysctl.d/99-sysctl.conf: {symlink: ../sysctl.conf}}",
            Fail,
        ),
        // A file reached through a symbolic link inside the root is read.
        case(
            "{kind: sysctl, key: net.ipv4.ip_forward}",
            Some("{op: equals, value: 0}"),
            "files: {/opt/hardening/net.conf: \"net.ipv4.ip_forward=1\\n\", /etc/sysctl.d/60-net.conf: {symlink: /opt/hardening/net.conf}}",
            Fail,
        ),
        case(
            "{kind: sysctl, key: net.ipv4.ip_forward}",
            Some("{op: equals, value: 0}"),
            "{}",
            Fail,
        ),
        case(
            "{kind: sysctl, key: net.ipv4.ip_forward}",
            Some("{op: equals, value: 0}"),
            "{live: true, files: {/etc/sysctl.conf: \"net.ipv4.ip_forward=0\\n\", /proc/sys/net/ipv4/ip_forward: \"1\\n\"}}",
            Fail,
        ),
        case(
            "{kind: sysctl, key: net.ipv4.ip_forward}",
            Some("{op: equals, value: 0}"),
            "{live: true, files: {/etc/sysctl.conf: \"net.ipv4.ip_forward=0\\n\", /proc/sys/net/ipv4/ip_forward: \"0\\n\"}}",
            Pass,
        ),
    ]);
}

#[test]
fn kernel_module() {
    check(&[
        case(
            "{kind: kernel_module, module: cramfs}",
            None,
            "files: {/etc/modprobe.d/cramfs.conf: \"install cramfs /bin/false\\nblacklist cramfs\\n\"}",
            Pass,
        ),
        case(
            "{kind: kernel_module, module: cramfs}",
            None,
            "files: {/etc/modprobe.d/cramfs.conf: \"blacklist cramfs\\n\"}",
            Fail,
        ),
        case(
            "{kind: kernel_module, module: usb-storage}",
            None,
            "files: {/etc/modprobe.d/usb.conf: \"install usb_storage /bin/true\\nblacklist usb-storage\\n\"}",
            Pass,
        ),
        case(
            "{kind: kernel_module, module: cramfs}",
            None,
            "{live: true, files: {/etc/modprobe.d/c.conf: \"install cramfs /bin/false\\nblacklist cramfs\\n\", /proc/modules: \"cramfs 16384 0 - Live 0x0\\n\"}}",
            Fail,
        ),
        case(
            "{kind: kernel_module, module: cramfs}",
            None,
            "files: {/lib/modules/6.1.0-18-amd64/modules.dep: \"kernel/fs/udf/udf.ko.xz: kernel/lib/crc-itu-t.ko.xz\\n\"}",
            Pass,
        ),
        case(
            "{kind: kernel_module, module: udf}",
            None,
            "files: {/lib/modules/6.1.0-18-amd64/modules.dep: \"kernel/fs/udf/udf.ko.xz:\\n\"}",
            Fail,
        ),
    ]);
}

#[test]
fn mount() {
    check(&[
        case(
            "{kind: mount, path: /tmp, options: [nodev, nosuid]}",
            None,
            "files: {/etc/fstab: \"tmpfs /tmp tmpfs rw,nosuid,nodev 0 0\\n\"}",
            Pass,
        ),
        case(
            "{kind: mount, path: /tmp, options: [noexec]}",
            None,
            "files: {/etc/fstab: \"tmpfs /tmp tmpfs rw,nosuid,nodev 0 0\\n\"}",
            Fail,
        ),
        case(
            "{kind: mount, path: /var/tmp, options: [nodev]}",
            None,
            "files: {/etc/fstab: \"/dev/sda1 / ext4 defaults 0 1\\n\"}",
            Skip,
        ),
        case(
            "{kind: mount, path: /tmp, require_separate: true}",
            None,
            "{}",
            Fail,
        ),
        case(
            "{kind: mount, path: /tmp, options: [nodev]}",
            None,
            "files: {/etc/systemd/system/tmp.mount: \"[Mount]\\nWhat=tmpfs\\nWhere=/tmp\\nOptions=mode=1777,nodev\\n\"}",
            Pass,
        ),
        case(
            "{kind: mount, path: /dev/shm, options: [noexec]}",
            None,
            "{live: true, files: {/proc/self/mounts: \"tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0\\n\"}}",
            Fail,
        ),
    ]);
}

#[test]
fn packages() {
    check(&[
        case(
            "{kind: package_installed, name: sudo}",
            None,
            "packages: [sudo]",
            Pass,
        ),
        case(
            "{kind: package_installed, name: [chrony, systemd-timesyncd]}",
            None,
            "packages: [systemd-timesyncd]",
            Pass,
        ),
        case("{kind: package_installed, name: aide}", None, "{}", Fail),
        case(
            "{kind: package_absent, name: [telnet, inetutils-telnet]}",
            None,
            "packages: [inetutils-telnet]",
            Fail,
        ),
        case(
            "{kind: package_absent, name: telnet}",
            None,
            "{os: rhel9, packages: [openssh-server]}",
            Pass,
        ),
        case(
            "{kind: package_installed, name: audit}",
            None,
            "{os: rhel9, packages: [audit=3.1.2-2.el9]}",
            Pass,
        ),
        case(
            "{kind: package_installed, name: audit}",
            None,
            "{os: rhel9}",
            Fail,
        ),
        // With an expect, the installed version must meet it as well.
        case(
            "{kind: package_installed, name: [libpam-runtime, libpam0g]}",
            Some("{op: version_ge, value: 1.5.2-6}"),
            "packages: [libpam-runtime=1.5.2-6+deb12u1, libpam0g=1.5.2-6+deb12u1]",
            Pass,
        ),
        case(
            "{kind: package_installed, name: [libpam-runtime, libpam0g]}",
            Some("{op: version_ge, value: 1.5.2-6}"),
            "packages: [libpam-runtime=1.5.2-6+deb12u1, libpam0g=1.4.0-9]",
            Fail,
        ),
        case(
            "{kind: package_installed, name: pam}",
            Some("{op: version_ge, value: 1.5.1-19}"),
            "{os: rhel9, packages: [pam=1.5.1-20.el9]}",
            Pass,
        ),
        case(
            "{kind: package_installed, name: pam}",
            Some("{op: version_ge, value: 1.5.1-19}"),
            "{os: rhel9, packages: [pam=1.5.1-14.el9]}",
            Fail,
        ),
        case(
            "{kind: package_installed, name: pam}",
            Some("{op: version_ge, value: 1.5.1-19}"),
            "{os: rhel9}",
            Fail,
        ),
    ]);
}

#[test]
fn service_state() {
    check(&[
        case(
            "{kind: service_state, name: cron}",
            Some("{op: equals, value: enabled}"),
            "services: {cron.service: enabled}",
            Pass,
        ),
        case(
            "{kind: service_state, name: avahi-daemon.service}",
            Some("{op: in, value: [disabled, masked, absent]}"),
            "services: {avahi-daemon.service: enabled}",
            Fail,
        ),
        case(
            "{kind: service_state, name: avahi-daemon.service}",
            Some("{op: in, value: [disabled, masked, absent]}"),
            "services: {avahi-daemon.service: masked}",
            Pass,
        ),
        case(
            "{kind: service_state, name: [chrony.service, chronyd.service]}",
            Some("{op: equals, value: enabled}"),
            "{os: rhel9, services: {chronyd.service: enabled}}",
            Pass,
        ),
        case(
            "{kind: service_state, name: rsync.service}",
            Some("{op: in, value: [disabled, masked, absent]}"),
            "services: {rsync.service: disabled}",
            Pass,
        ),
    ]);
}

#[test]
fn login_banner() {
    check(&[
        case(
            "{kind: login_banner, path: /etc/issue}",
            None,
            "files: {/etc/issue: \"Authorized use only.\\n\"}",
            Pass,
        ),
        case(
            "{kind: login_banner, path: /etc/issue}",
            None,
            "files: {/etc/issue: \"Debian GNU/Linux 12 \\\\n \\\\l\\n\"}",
            Fail,
        ),
        case(
            "{kind: login_banner, path: /etc/issue}",
            None,
            "{os: rhel9, files: {/etc/issue: \"\\\\S\\nKernel \\\\r on an \\\\m\\n\"}}",
            Fail,
        ),
        case("{kind: login_banner, path: /etc/issue}", None, "{}", Fail),
        case(
            "{kind: login_banner, path: /etc/motd, require_text: false}",
            None,
            "{}",
            Pass,
        ),
    ]);
}

#[test]
fn accounts() {
    let extra_root =
        "files: {/etc/passwd: \"root:x:0:0::/root:/bin/bash\\ntoor:x:0:0::/root:/bin/bash\\n\"}";
    check(&[
        case("{kind: accounts, rule: uid0_only_root}", None, "{}", Pass),
        case(
            "{kind: accounts, rule: uid0_only_root}",
            None,
            extra_root,
            Fail,
        ),
        case(
            "{kind: accounts, rule: unique_uids}",
            None,
            extra_root,
            Fail,
        ),
        case(
            "{kind: accounts, rule: no_empty_passwords}",
            None,
            "files: {/etc/shadow: \"root:*:19700:0:99999:7:::\\nbob::19700:0:99999:7:::\\n\"}",
            Fail,
        ),
        case(
            "{kind: accounts, rule: max_days, max: 365}",
            None,
            "{}",
            Pass,
        ),
        case(
            "{kind: accounts, rule: max_days, max: 365}",
            None,
            "files: {/etc/shadow: \"root:$6$salt$hash:19700:0:99999:7:::\\n\"}",
            Fail,
        ),
        case(
            "{kind: accounts, rule: system_accounts_nologin}",
            None,
            "{}",
            Pass,
        ),
        case(
            "{kind: accounts, rule: system_accounts_nologin}",
            None,
            "files: {/etc/passwd: \"root:x:0:0::/root:/bin/bash\\ndaemon:x:1:1::/:/bin/sh\\n\"}",
            Fail,
        ),
        case(
            "{kind: accounts, rule: groups_exist}",
            None,
            "files: {/etc/passwd: \"root:x:0:0::/root:/bin/bash\\nbob:x:1000:4242::/home/bob:/bin/bash\\n\"}",
            Fail,
        ),
        case(
            "{kind: accounts, rule: shadow_group_empty}",
            None,
            "files: {/etc/group: \"root:x:0:\\nshadow:x:42:bob\\n\"}",
            Fail,
        ),
        case(
            "{kind: accounts, rule: passwords_shadowed}",
            None,
            "{}",
            Pass,
        ),
        // Day 99999 of /etc/shadow is in the 23rd century; 19700 was in 2023.
        case(
            "{kind: accounts, rule: last_change_in_past}",
            None,
            "files: {/etc/shadow: \"root:*:19700:0:99999:7:::\\nbob:$y$j9T$salt$hash:19700:0:99999:7:::\\n\"}",
            Pass,
        ),
        case(
            "{kind: accounts, rule: last_change_in_past}",
            None,
            "files: {/etc/shadow: \"root:*:19700:0:99999:7:::\\nbob:$y$j9T$salt$hash:99999:0:99999:7:::\\n\"}",
            Fail,
        ),
        // A locked account's date does not matter: it has no password to age.
        case(
            "{kind: accounts, rule: last_change_in_past}",
            None,
            "files: {/etc/shadow: \"root:*:19700:0:99999:7:::\\nold:!$y$j9T$salt$hash:99999:0:99999:7:::\\n\"}",
            Pass,
        ),
        case(
            "{kind: accounts, rule: gid0_only_root_group}",
            None,
            "{}",
            Pass,
        ),
        case(
            "{kind: accounts, rule: gid0_only_root_group}",
            None,
            "files: {/etc/group: \"root:x:0:\\nadmins:x:0:bob\\n\"}",
            Fail,
        ),
        case(
            "{kind: accounts, rule: root_password_set}",
            None,
            "files: {/etc/shadow: \"root:$y$j9T$salt$hash:19700:0:99999:7:::\\n\"}",
            Pass,
        ),
        // The base layouts lock root's password.
        case(
            "{kind: accounts, rule: root_password_set}",
            None,
            "{}",
            Fail,
        ),
        case(
            "{kind: accounts, rule: root_password_set}",
            None,
            "files: {/etc/shadow: \"root::19700:0:99999:7:::\\n\"}",
            Fail,
        ),
        case(
            "{kind: accounts, rule: root_password_set}",
            None,
            "files: {/etc/shadow: \"daemon:*:19700:0:99999:7:::\\n\"}",
            Fail,
        ),
        case(
            "{kind: accounts, rule: root_password_not_empty}",
            None,
            "{}",
            Pass,
        ),
        case(
            "{kind: accounts, rule: root_password_not_empty}",
            None,
            "{os: rhel9, files: {/etc/shadow: \"root::19700:0:99999:7:::\\n\"}}",
            Fail,
        ),
        case(
            "{kind: accounts, rule: nologin_accounts_locked}",
            None,
            "{}",
            Pass,
        ),
        case(
            "{kind: accounts, rule: nologin_accounts_locked}",
            None,
            "files: {/etc/shells: \"/bin/sh\\n/bin/bash\\n/usr/sbin/nologin\\n\", /etc/passwd: \"root:x:0:0::/root:/bin/bash\\nbob:x:1000:1000::/home/bob:/bin/bash\\nsvc:x:998:998::/srv:/usr/sbin/nologin\\n\", /etc/shadow: \"root:$y$j9T$salt$hash:19700::::::\\nbob:$y$j9T$salt$hash:19700::::::\\nsvc:!:19700::::::\\n\"}",
            Pass,
        ),
        // A shell missing from /etc/shells is not a valid login shell either.
        case(
            "{kind: accounts, rule: nologin_accounts_locked}",
            None,
            "files: {/etc/shells: \"/bin/sh\\n/bin/bash\\n\", /etc/passwd: \"root:x:0:0::/root:/bin/bash\\nsvc:x:998:998::/srv:/opt/app/shell\\n\", /etc/shadow: \"root:*:19700::::::\\nsvc:$y$j9T$salt$hash:19700::::::\\n\"}",
            Fail,
        ),
        case(
            "{kind: accounts, rule: nologin_accounts_locked}",
            None,
            "files: {/etc/passwd: \"root:x:0:0::/root:/bin/bash\\nsvc:x:998:998::/srv:/usr/sbin/nologin\\n\", /etc/shadow: \"root:*:19700::::::\\nsvc::19700::::::\\n\"}",
            Fail,
        ),
    ]);
}

#[test]
fn audit_rule() {
    let rules = "files: {/etc/audit/rules.d/50.rules: \"-w /etc/passwd -p wa -k identity\\n-a always,exit -F arch=b64 -S sethostname -S setdomainname -k system-locale\\n\"}";
    check(&[
        case(
            "{kind: audit_rule, rule: '-w /etc/passwd -p wa -k identity'}",
            None,
            rules,
            Pass,
        ),
        case(
            "{kind: audit_rule, rule: '-w /etc/group -p wa -k identity'}",
            None,
            rules,
            Fail,
        ),
        case(
            "{kind: audit_rule, rule: '-a always,exit -F arch=b64 -S sethostname,setdomainname -k x'}",
            None,
            rules,
            Pass,
        ),
        case(
            "{kind: audit_rule, rule: '-w /etc/passwd -p wa'}",
            None,
            "files: {/etc/audit/audit.rules: \"-w /etc/passwd -p rwa\\n\"}",
            Pass,
        ),
        case(
            "{kind: audit_rule, rule: '-w /etc/passwd -p wa'}",
            None,
            "{}",
            Fail,
        ),
        // A host whose auditd loads audit.rules itself: the rule there counts, rules.d does not.
        case(
            "{kind: audit_rule, rule: '-w /etc/passwd -p wa'}",
            None,
            "files: {/usr/lib/systemd/system/auditd.service: \"[Service]\\nExecStart=/sbin/auditd\\nExecStartPost=-/sbin/auditctl -R /etc/audit/audit.rules\\n\", /etc/audit/rules.d/audit.rules: \"-D\\n-b 8192\\n\", /etc/audit/audit.rules: \"-w /etc/passwd -p wa -k identity\\n\"}",
            Pass,
        ),
        case(
            "{kind: audit_rule, rule: '-w /etc/passwd -p wa'}",
            None,
            "files: {/usr/lib/systemd/system/auditd.service: \"[Service]\\nExecStartPost=-/sbin/auditctl -R /etc/audit/audit.rules\\n\", /etc/audit/rules.d/50-identity.rules: \"-w /etc/passwd -p wa\\n\", /etc/audit/audit.rules: \"-D\\n\"}",
            Fail,
        ),
        // A drop-in that switches the unit back to augenrules: rules.d is what loads.
        case(
            "{kind: audit_rule, rule: '-w /etc/passwd -p wa'}",
            None,
            "files: {/usr/lib/systemd/system/auditd.service: \"[Service]\\nExecStartPost=-/sbin/auditctl -R /etc/audit/audit.rules\\n\", /etc/systemd/system/auditd.service.d/augenrules.conf: \"[Service]\\nExecStartPost=\\nExecStartPost=-/sbin/augenrules --load\\n\", /etc/audit/rules.d/50-identity.rules: \"-w /etc/passwd -p wa\\n\", /etc/audit/audit.rules: \"-D\\n\"}",
            Pass,
        ),
    ]);
}

#[test]
fn fs_walk() {
    check(&[
        case(
            "{kind: fs_walk, find: world_writable}",
            None,
            "files: {/srv/a: {mode: '0644'}}",
            Pass,
        ),
        case(
            "{kind: fs_walk, find: world_writable}",
            None,
            "files: {/srv/a: {mode: '0666'}}",
            Fail,
        ),
        case(
            "{kind: fs_walk, find: no_sticky_dirs}",
            None,
            "files: {/srv/drop: {dir: true, mode: '0777'}}",
            Fail,
        ),
        case(
            "{kind: fs_walk, find: no_sticky_dirs}",
            None,
            "files: {/srv/drop: {dir: true, mode: '1777'}}",
            Pass,
        ),
        case(
            "{kind: fs_walk, find: unowned}",
            None,
            "files: {/srv/a: {owner: 4242}}",
            Fail,
        ),
        case(
            "{kind: fs_walk, find: ungrouped}",
            None,
            "files: {/srv/a: {group: 4242}}",
            Fail,
        ),
        case(
            "{kind: fs_walk, find: suid, allow: [/usr/bin/passwd]}",
            None,
            "files: {/usr/bin/passwd: {mode: '4755'}}",
            Pass,
        ),
        case(
            "{kind: fs_walk, find: suid, allow: [/usr/bin/passwd]}",
            None,
            "files: {/usr/bin/passwd: {mode: '4755'}, /opt/x: {mode: '4755'}}",
            Fail,
        ),
        case(
            "{kind: fs_walk, find: sgid}",
            None,
            "files: {/usr/bin/wall: {mode: '2755'}}",
            Fail,
        ),
        // Pseudo filesystems are never walked, even when an image carries files there.
        case(
            "{kind: fs_walk, find: world_writable}",
            None,
            "files: {/proc/x: {mode: '0666'}, /sys/y: {mode: '0666'}}",
            Pass,
        ),
    ]);
}

#[test]
fn command_runs_only_on_the_live_system() {
    check(&[case(
        "{kind: command, argv: [/bin/true]}",
        Some("{op: exists}"),
        "{}",
        Skip,
    )]);
    let probe: Probe = serde_saphyr::from_str("{kind: command, argv: [/bin/echo, hello]}").unwrap();
    let facts = Facts::new(HostRoot::live(), HostRoot::live().detect_os().unwrap());
    let expect: Expectation = serde_saphyr::from_str("{op: equals, value: hello}").unwrap();
    assert_eq!(run_probe(&facts, &probe, Some(&expect)).status, Pass);
}

#[test]
fn only_if_turns_checks_for_missing_software_into_skips() {
    use bulwark_core::Check;
    use bulwark_engine::evaluate::evaluate;
    let check: Check = serde_saphyr::from_str(
        "id: T\ntitle: t\ncategory: Services\nseverity: high\ndescription: d\nrationale: r\nremediation: {text: x}\n\
         only_if: {kind: package_installed, name: openssh-server}\n\
         probe: {kind: config_value, path: /etc/ssh/sshd_config, format: sshd, key: PermitRootLogin, default: prohibit-password}\n\
         expect: {op: equals, value: 'no'}\n",
    )
    .unwrap();
    let status = |host: &str| {
        let case: TestCase = serde_saphyr::from_str(host).unwrap();
        let root = FixtureRoot::new(&case).unwrap();
        let h = HostRoot::offline(root.path());
        let os = h.detect_os().unwrap();
        evaluate(&Facts::new(h, os), OsKind::Linux, &check)
    };
    let skipped = status("{}");
    assert_eq!(skipped.status, Skip);
    assert_eq!(
        skipped.reason.as_deref(),
        Some("not applicable: needs openssh-server installed (not installed)")
    );
    assert_eq!(status("packages: [openssh-server]").status, Fail);
    assert_eq!(
        status(
            "{packages: [openssh-server], files: {/etc/ssh/sshd_config: \"PermitRootLogin no\\n\"}}"
        )
        .status,
        Pass
    );
}

#[test]
fn listening_ports() {
    // Double-quoted YAML, so that \n is a line break.
    const SSH_V4: &str =
        r#""  sl  local_address rem_address   st\n   0: 00000000:0016 00000000:0000 0A 0 0 0\n""#;
    const WEB_V6_ANY: &str = r#""  sl  local_address remote_address st\n   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 0 0 0\n""#;
    const SSH_RULE: &str = r#""*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n""#;
    let v4 = "{kind: listening_ports, family: ipv4, rules: /etc/iptables/rules.v4}";
    let v6 = "{kind: listening_ports, family: ipv6, rules: [/etc/iptables/rules.v6]}";
    let host = |live: bool, files: &[(&str, &str)]| -> &'static str {
        let files: Vec<String> = files.iter().map(|(p, t)| format!("{p}: {t}")).collect();
        Box::leak(format!("{{live: {live}, files: {{{}}}}}", files.join(", ")).into_boxed_str())
    };
    check(&[
        // Sockets belong to the running kernel: an offline image is not judged, whatever its
        // /proc holds.
        case(v4, None, host(false, &[("/proc/net/tcp", SSH_V4)]), Skip),
        case(v4, None, host(true, &[("/proc/net/tcp", SSH_V4)]), Fail),
        case(
            v4,
            None,
            host(
                true,
                &[
                    ("/proc/net/tcp", SSH_V4),
                    ("/etc/iptables/rules.v4", SSH_RULE),
                ],
            ),
            Pass,
        ),
        // A dual-stack listener needs an IPv4 rule, unless the kernel keeps IPv6 sockets to
        // IPv6 (bindv6only).
        case(
            v4,
            None,
            host(
                true,
                &[("/proc/net/tcp", "''"), ("/proc/net/tcp6", WEB_V6_ANY)],
            ),
            Fail,
        ),
        case(
            v4,
            None,
            host(
                true,
                &[
                    ("/proc/net/tcp", "''"),
                    ("/proc/net/tcp6", WEB_V6_ANY),
                    ("/proc/sys/net/ipv6/bindv6only", "'1'"),
                ],
            ),
            Pass,
        ),
        // A kernel without IPv6 has no tcp6 table: not applicable rather than compliant.
        case(v6, None, host(true, &[("/proc/net/tcp", SSH_V4)]), Skip),
        case(
            v6,
            None,
            host(true, &[("/proc/net/tcp6", WEB_V6_ANY)]),
            Fail,
        ),
    ]);
}

#[test]
fn listening_ports_on_this_machine() {
    // The live path against this machine's own kernel: whatever listens here, the check
    // reaches a verdict (never an error) and names each socket it judged.
    let host = HostRoot::live();
    let os = host.detect_os().unwrap();
    let probe: Probe = serde_saphyr::from_str(
        "{kind: listening_ports, family: ipv4, rules: /nonexistent/rules.v4}",
    )
    .unwrap();
    let outcome = run_probe(&Facts::new(host, os), &probe, None);
    assert!(matches!(outcome.status, Pass | Fail), "{outcome:?}");
    let actual = outcome.actual.unwrap_or_default();
    match outcome.status {
        Pass => assert_eq!(actual, "nothing listens beyond loopback"),
        _ => assert!(
            actual.contains("no saved rules in /nonexistent/rules.v4"),
            "{actual}"
        ),
    }
}
