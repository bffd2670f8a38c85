//! A file's Unix mode and owners. They exist where the host keeps them; an agent built for
//! Windows reads the registry and evidence roots instead, and the checks that would need them
//! say so rather than guess.

use std::fs::Metadata;

/// Permission bits (with the file type bits above them), owner and group of a file.
#[derive(Debug, Clone, Copy)]
pub struct UnixMeta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Why a check of modes or owners cannot run on this platform.
pub const UNAVAILABLE: &str = "file modes and owners are read by agents on Unix hosts only";

#[cfg(unix)]
pub fn of(meta: &Metadata) -> Option<UnixMeta> {
    use std::os::unix::fs::MetadataExt;
    Some(UnixMeta {
        mode: meta.mode(),
        uid: meta.uid(),
        gid: meta.gid(),
    })
}

#[cfg(not(unix))]
pub fn of(_meta: &Metadata) -> Option<UnixMeta> {
    None
}

/// What a file that is neither regular nor a directory is, in words.
#[cfg(unix)]
pub fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "fifo"
    } else if ft.is_char_device() || ft.is_block_device() {
        "device"
    } else if ft.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

#[cfg(not(unix))]
pub fn special_kind(_ft: &std::fs::FileType) -> &'static str {
    "special file"
}
