//! A real OpenSSH server for the tests: Debian's /usr/sbin/sshd on 127.0.0.1 at a free port,
//! with its own host key, authorized keys and configuration in a temporary directory, killed
//! when dropped. Also the keys and the throwaway password user the tests log in with.

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Auth, Target};
use tempfile::TempDir;

const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    child: Child,
    dir: TempDir,
    pub port: u16,
    /// The host key as its .pub file has it (`ssh-ed25519 AAAA… comment`).
    pub host_key_line: String,
    /// `ssh-keygen -lf` of the host key.
    pub host_fingerprint: String,
    /// The private key in authorized_keys, as OpenSSH writes it.
    pub client_key: String,
}

impl Sshd {
    /// Starts a server, or says why this machine cannot run one and returns `None`: under
    /// fakeroot sshd believes it is root but cannot chroot, so the tests skip instead.
    pub fn start() -> Option<Sshd> {
        Sshd::start_with_host_key("ed25519")
    }

    /// A server whose only host key is of this type (`ssh-keygen -t`).
    pub fn start_with_host_key(kind: &str) -> Option<Sshd> {
        Sshd::start_configured(kind, "")
    }

    /// A server with more configuration after the harness's own (`Match` blocks go here).
    pub fn start_with_config(extra: &str) -> Option<Sshd> {
        Sshd::start_configured("ed25519", extra)
    }

    fn start_configured(kind: &str, extra: &str) -> Option<Sshd> {
        if std::env::var_os("FAKEROOTKEY").is_some() {
            eprintln!("skipped: sshd cannot run under fakeroot (run the SSH tests as root)");
            return None;
        }
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: apt-get install openssh-server (scripts/test installs it)"
        );
        // sshd refuses to start without its privilege separation directory, which the
        // package's service creates at boot; this machine may never have started it.
        if !Path::new("/run/sshd").is_dir() {
            if is_root() {
                fs::create_dir_all("/run/sshd").expect("create /run/sshd");
            } else {
                eprintln!("skipped: sshd needs /run/sshd, which only root can create");
                return None;
            }
        }

        let dir = tempfile::Builder::new()
            .prefix("bulwark-sshd")
            .tempdir()
            .expect("temporary directory");
        let host_key = keygen_typed(dir.path(), &format!("host_{kind}"), kind, None);
        let client = keygen(dir.path(), "client_ed25519", None);
        fs::copy(pub_path(&client), dir.path().join("authorized_keys")).expect("authorized_keys");

        let host_key_line = fs::read_to_string(pub_path(&host_key)).expect("host key");
        let host_fingerprint = fingerprint_of(&pub_path(&host_key));
        let client_key = fs::read_to_string(&client).expect("client key");

        // A port that was free a moment ago may be taken by the time sshd binds it; then
        // sshd exits saying so, and another port is tried.
        for _ in 0..5 {
            let port = free_port();
            let config = write_config(dir.path(), port, &host_key, extra);
            if let Some(child) = spawn_ready(dir.path(), &config, port) {
                return Some(Sshd {
                    child,
                    dir,
                    port,
                    host_key_line: host_key_line.trim().to_string(),
                    host_fingerprint,
                    client_key,
                });
            }
        }
        panic!("sshd found no free port in five tries");
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What sshd logged, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    pub fn target(&self, user: &str) -> Target {
        Target {
            address: "127.0.0.1".into(),
            port: self.port,
            user: user.into(),
        }
    }

    pub fn key_auth(&self) -> Auth {
        Auth::PrivateKey {
            pem: self.client_key.clone(),
            passphrase: None,
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts sshd and waits until it answers with an SSH banner, with a deadline: polling,
/// never a fixed sleep. `None` when the port was taken before sshd could bind it.
fn spawn_ready(dir: &Path, config: &Path, port: u16) -> Option<Child> {
    let log_path = dir.join("sshd.log");
    let log = || fs::read_to_string(&log_path).unwrap_or_default();
    let mut child = Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log_path).expect("sshd log"))
        .spawn()
        .expect("start sshd");
    let deadline = Instant::now() + Duration::from_secs(15);
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            if log().contains("Address already in use") {
                return None;
            }
            panic!("sshd exited ({status}) before it was ready:\n{}", log());
        }
        if answers_ssh(address) {
            return Some(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sshd did not answer on {address} within 15 s:\n{}", log());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn answers_ssh(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut banner = [0u8; 8];
    stream.read_exact(&mut banner).is_ok() && &banner == b"SSH-2.0-"
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn write_config(dir: &Path, port: u16, host_key: &Path, extra: &str) -> PathBuf {
    let authorized = dir.join("authorized_keys");
    let config = format!(
        "Port {port}\n\
         ListenAddress 127.0.0.1\n\
         HostKey {host_key}\n\
         AuthorizedKeysFile {authorized}\n\
         PidFile none\n\
         UsePAM no\n\
         StrictModes no\n\
         PermitRootLogin yes\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication yes\n\
         KbdInteractiveAuthentication no\n\
         MaxAuthTries 10\n\
         LogLevel VERBOSE\n",
        host_key = host_key.display(),
        authorized = authorized.display(),
    );
    // OpenSSH 9.8 and later penalise addresses whose connections fail authentication; the
    // tests fail authentication on purpose, so this is switched off where sshd knows it.
    let path = dir.join("sshd_config");
    let with_penalties = format!("{config}PerSourcePenalties no\n{extra}");
    let config = format!("{config}{extra}");
    fs::write(&path, &with_penalties).expect("sshd_config");
    let known = Command::new(SSHD)
        .args(["-t", "-f"])
        .arg(&path)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !known {
        fs::write(&path, &config).expect("sshd_config");
        let check = Command::new(SSHD).args(["-t", "-f"]).arg(&path).output();
        let check = check.expect("sshd -t");
        assert!(
            check.status.success(),
            "sshd rejects the test configuration: {}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    path
}

/// Generates an Ed25519 key pair with ssh-keygen; returns the private key's path.
pub fn keygen(dir: &Path, name: &str, passphrase: Option<&str>) -> PathBuf {
    keygen_typed(dir, name, "ed25519", passphrase)
}

/// Generates a key pair of a type `ssh-keygen -t` knows; returns the private key's path.
pub fn keygen_typed(dir: &Path, name: &str, kind: &str, passphrase: Option<&str>) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-C", name, "-N", passphrase.unwrap_or("")])
        // Few KDF rounds: the test is of decryption, not of its cost.
        .args(["-a", "2", "-f"])
        .arg(&path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen (apt-get install openssh-client)");
    assert!(status.success(), "ssh-keygen failed for {name}");
    path
}

pub fn pub_path(private: &Path) -> PathBuf {
    let mut path = private.as_os_str().to_owned();
    path.push(".pub");
    PathBuf::from(path)
}

/// The SHA256 fingerprint `ssh-keygen -lf` prints for a public key file.
pub fn fingerprint_of(public: &Path) -> String {
    let output = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(public)
        .output()
        .expect("ssh-keygen -lf");
    assert!(
        output.status.success(),
        "ssh-keygen -lf {}",
        public.display()
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .split_whitespace()
        .nth(1)
        .expect("a fingerprint field")
        .to_string()
}

pub fn is_root() -> bool {
    local(&["id", "-u"]) == "0"
}

pub fn current_user() -> String {
    local(&["id", "-un"])
}

/// A command on this machine, its trimmed stdout.
pub fn local(argv: &[&str]) -> String {
    let output = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .expect("local command");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A user with a password, for password logins, removed again on drop. Only root can make
/// one; this machine's own accounts and passwords are never touched.
pub struct TempUser {
    pub name: String,
    pub password: String,
}

impl TempUser {
    pub fn create(home: &Path) -> TempUser {
        assert!(is_root(), "only root can create the test user");
        let name = format!("bwssh{}", std::process::id());
        let status = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/bin/sh", "--home-dir"])
            .arg(home)
            .arg(&name)
            .status()
            .expect("useradd");
        assert!(status.success(), "useradd {name}");
        let user = TempUser {
            name,
            password: format!("pw-{}-'\" $x", std::process::id()),
        };
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .expect("chpasswd");
        use std::io::Write;
        let line = format!("{}:{}\n", user.name, user.password);
        chpasswd
            .stdin
            .take()
            .expect("stdin")
            .write_all(line.as_bytes())
            .expect("write to chpasswd");
        assert!(chpasswd.wait().expect("chpasswd").success(), "chpasswd");
        user
    }
}

impl TempUser {
    /// A user with a home directory of its own (made here, owned by the user), as agentless
    /// scans need one to work in; `tag` tells several users of one test apart.
    pub fn with_home(tag: &str, home: &Path) -> TempUser {
        assert!(is_root(), "only root can create the test user");
        let name = format!("bw{tag}{}", std::process::id());
        fs::create_dir_all(home).expect("the test user's home");
        // `*`: no password, but not locked (sshd refuses every login of a locked account).
        let status = Command::new("useradd")
            .args([
                "--no-create-home",
                "--shell",
                "/bin/sh",
                "--password",
                "*",
                "--home-dir",
            ])
            .arg(home)
            .arg(&name)
            .status()
            .expect("useradd");
        assert!(status.success(), "useradd {name}");
        let status = Command::new("chown")
            .arg(format!("{name}:"))
            .arg(home)
            .status()
            .expect("chown");
        assert!(status.success(), "chown {}", home.display());
        TempUser {
            name,
            password: String::new(),
        }
    }

    /// Gives the user another login shell (a script that prints, say).
    pub fn set_shell(&self, shell: &Path) {
        let status = Command::new("usermod")
            .arg("--shell")
            .arg(shell)
            .arg(&self.name)
            .status()
            .expect("usermod");
        assert!(status.success(), "usermod --shell");
    }
}

/// A sudoers rule for a test user, checked by visudo and removed on drop; the machine's own
/// sudoers files are never touched.
pub struct SudoRule {
    path: PathBuf,
}

impl SudoRule {
    pub fn install(user: &str, lines: &str) -> SudoRule {
        assert!(
            Path::new("/usr/bin/sudo").exists(),
            "sudo is missing: apt-get install sudo (scripts/test installs it)"
        );
        let path = PathBuf::from(format!("/etc/sudoers.d/bulwark-test-{user}"));
        fs::write(&path, lines).expect("write the sudoers rule");
        let check = Command::new("visudo")
            .args(["-c", "-q", "-f"])
            .arg(&path)
            .output()
            .expect("visudo");
        if !check.status.success() {
            let _ = fs::remove_file(&path);
            panic!(
                "visudo rejects the test rule {lines:?}: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o440)).expect("chmod 0440");
        SudoRule { path }
    }
}

impl Drop for SudoRule {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
        // --force: sshd's session process for the user may not have exited yet.
        let _ = Command::new("userdel")
            .args(["--force", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}
