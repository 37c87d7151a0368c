//! What the data volume is and how full it is, from `statvfs` and `statfs`.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Size and free space of the filesystem holding a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Volume {
    pub total_bytes: u64,
    /// Free space an unprivileged process may use (`f_bavail`): what uploads can fill.
    pub available_bytes: u64,
    pub used_bytes: u64,
    pub filesystem: Filesystem,
}

impl Volume {
    pub fn of(path: &Path) -> io::Result<Self> {
        let vfs = rustix::fs::statvfs(path)?;
        let block = vfs.f_frsize.max(1);
        let total_bytes = vfs.f_blocks * block;
        let free_bytes = vfs.f_bfree * block;
        Ok(Self {
            total_bytes,
            available_bytes: vfs.f_bavail * block,
            used_bytes: total_bytes.saturating_sub(free_bytes),
            filesystem: Filesystem::of(path)?,
        })
    }

    /// Used space as a fraction of the total, 0.0 to 1.0.
    pub fn used_fraction(&self) -> f64 {
        if self.total_bytes == 0 {
            0.0
        } else {
            self.used_bytes as f64 / self.total_bytes as f64
        }
    }
}

/// Free space an unprivileged process may use on the filesystem holding `path`.
pub fn available_bytes(path: &Path) -> io::Result<u64> {
    let vfs = rustix::fs::statvfs(path)?;
    Ok(vfs.f_bavail * vfs.f_frsize.max(1))
}

/// A filesystem type, from the magic number `statfs` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filesystem {
    pub magic: u64,
}

/// Known filesystems: magic number, name, and whether it is reached over a network (where
/// SQLite's locking cannot be trusted).
const KNOWN: &[(u64, &str, bool)] = &[
    (0xEF53, "ext4", false),
    (0x5846_5342, "xfs", false),
    (0x9123_683E, "btrfs", false),
    (0x0102_1994, "tmpfs", false),
    (0x794C_7630, "overlay", false),
    (0x2FC1_2FC1, "zfs", false),
    (0xF2F5_2010, "f2fs", false),
    (0x6573_5546, "fuse", false),
    (0x6969, "nfs", true),
    (0x517B, "smb", true),
    (0xFF53_4D42, "cifs", true),
    (0xFE53_4D42, "smb2", true),
    (0x00C3_6400, "ceph", true),
    (0x0102_1997, "9p", true),
    (0x5346_414F, "afs", true),
    (0x0BD0_0BD0, "lustre", true),
    (0x0116_1970, "gfs2", true),
];

impl Filesystem {
    pub fn of(path: &Path) -> io::Result<Self> {
        let fs = rustix::fs::statfs(path)?;
        // `f_type` is signed on some targets; the magic numbers are 32-bit.
        Ok(Self {
            magic: (fs.f_type as u64) & 0xFFFF_FFFF,
        })
    }

    fn known(&self) -> Option<&'static (u64, &'static str, bool)> {
        KNOWN.iter().find(|(magic, ..)| *magic == self.magic)
    }

    /// `ext4`, `nfs`…, or the magic number in hex.
    pub fn name(&self) -> String {
        match self.known() {
            Some((_, name, _)) => (*name).to_owned(),
            None => format!("unknown (0x{:x})", self.magic),
        }
    }

    /// NFS, SMB/CIFS, CephFS, 9p and other network filesystems, where SQLite's file locks are
    /// unreliable and a database can be corrupted.
    pub fn is_network(&self) -> bool {
        self.known().is_some_and(|(.., network)| *network)
    }
}

/// Who owns a directory, and who this process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    pub owner_uid: u32,
    pub owner_gid: u32,
    pub mode: u32,
    pub process_uid: u32,
    pub process_gid: u32,
    pub process_groups: Vec<u32>,
}

impl Ownership {
    pub fn of(path: &Path) -> io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        let mut process_groups: Vec<u32> = rustix::process::getgroups()
            .unwrap_or_default()
            .into_iter()
            .map(|g| g.as_raw())
            .collect();
        let process_gid = rustix::process::getegid().as_raw();
        process_groups.push(process_gid);
        Ok(Self {
            owner_uid: meta.uid(),
            owner_gid: meta.gid(),
            mode: meta.mode() & 0o7777,
            process_uid: rustix::process::geteuid().as_raw(),
            process_gid,
            process_groups,
        })
    }

    /// Owned by this process's user, or group-writable by one of its groups (what a
    /// Kubernetes `fsGroup` arranges).
    pub fn is_ours(&self) -> bool {
        self.owner_uid == self.process_uid
            || (self.process_groups.contains(&self.owner_gid) && self.mode & 0o070 == 0o070)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_filesystems_are_recognised() {
        for (magic, name) in [
            (0x6969, "nfs"),
            (0xFF53_4D42, "cifs"),
            (0xFE53_4D42, "smb2"),
        ] {
            let fs = Filesystem { magic };
            assert!(fs.is_network(), "{name}");
            assert_eq!(fs.name(), name);
        }
        for magic in [0xEF53, 0x0102_1994, 0x794C_7630] {
            assert!(!Filesystem { magic }.is_network());
        }
        assert_eq!(Filesystem { magic: 0x1234 }.name(), "unknown (0x1234)");
    }

    #[test]
    fn a_temporary_directory_is_local_and_ours() {
        let dir = tempfile::tempdir().unwrap();
        let volume = Volume::of(dir.path()).unwrap();
        assert!(volume.total_bytes > 0);
        assert!(volume.available_bytes <= volume.total_bytes);
        assert!(!volume.filesystem.is_network());
        assert!(Ownership::of(dir.path()).unwrap().is_ours());
    }
}
