//! Writing files so that a crash leaves either the old or the new content, never a torn
//! one: write a temporary file beside the target, sync it, rename it over the target, sync
//! the directory.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes` atomically; `mode` applies to the new file on Unix. On
/// Windows the file inherits the state directory's access list instead (administrators and
/// SYSTEM, under ProgramData).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".tmp-{name}-{}", std::process::id()));
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    // The rename is durable once the directory is synced; Windows cannot open a directory as
    // a file, and NTFS journals the rename itself.
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Temporary files a crash left behind.
pub fn is_leftover(name: &str) -> bool {
    name.starts_with(".tmp-")
}
