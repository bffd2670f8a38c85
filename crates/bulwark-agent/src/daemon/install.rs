//! `bulwark-agent install`: writes the configuration (mode 0600: it holds the organization
//! secret), the state directory (mode 0700) and a systemd unit that runs the agent as root.
//! It enables nothing itself: it prints the command that does, since the machine that builds
//! an image is often not the one that runs it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::config::{AgentConfig, DEFAULT_CONFIG, DEFAULT_STATE_DIR};
use super::files::write_atomic;

#[derive(Args)]
pub struct InstallArgs {
    /// The server's base URL.
    #[arg(long)]
    server_url: String,
    /// The organization's enrollment secret.
    #[arg(long, env = "BULWARK_ORG_SECRET", hide_env_values = true)]
    org_secret: String,
    #[arg(long, default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Where to write the configuration.
    #[arg(long, default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    /// Where to write bulwark-agent.service.
    #[arg(long, default_value = "/etc/systemd/system")]
    unit_dir: PathBuf,
    /// The filesystem the agent scans (`/`: this host).
    #[arg(long, default_value = "/")]
    root: PathBuf,
}

pub fn unit(exe: &Path, config: &Path) -> String {
    format!(
        "[Unit]\n\
         Description=Bulwark compliance agent\n\
         Documentation=https://github.com/bulwark/bulwark\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         \n\
         [Service]\n\
         ExecStart={} run --config {}\n\
         Restart=always\n\
         RestartSec=10\n\
         User=root\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        exe.display(),
        config.display()
    )
}

pub fn install(args: InstallArgs) -> anyhow::Result<()> {
    let mut config = AgentConfig::new(&args.server_url, &args.org_secret, &args.state_dir);
    config.root = args.root;
    if !(config.server_url.starts_with("http://") || config.server_url.starts_with("https://")) {
        anyhow::bail!(
            "--server-url must start with http:// or https://, not {:?}",
            args.server_url
        );
    }
    if let Some(dir) = args.config.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_atomic(&args.config, config.to_toml().as_bytes(), 0o600)
        .with_context(|| format!("cannot write {}", args.config.display()))?;
    super::state::State::open(&args.state_dir)?;
    std::fs::create_dir_all(&args.unit_dir)
        .with_context(|| format!("cannot create {}", args.unit_dir.display()))?;
    let exe = std::env::current_exe().context("cannot tell where this binary is")?;
    let unit_path = args.unit_dir.join("bulwark-agent.service");
    write_atomic(&unit_path, unit(&exe, &args.config).as_bytes(), 0o644)
        .with_context(|| format!("cannot write {}", unit_path.display()))?;
    println!("wrote {} (mode 0600)", args.config.display());
    println!("wrote {}", unit_path.display());
    println!("state directory {}", args.state_dir.display());
    println!("start it with: systemctl daemon-reload && systemctl enable --now bulwark-agent");
    println!(
        "or in the foreground: {} run --config {}",
        exe.display(),
        args.config.display()
    );
    Ok(())
}
