//! The archive's format: its members, header and manifest, and how rows and digests are written.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The archive format this build writes, and the newest it reads.
pub const FORMAT: u32 = 1;
pub(super) const HEADER: &str = "taskflow-backup.json";
pub(super) const MANIFEST: &str = "manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Header {
    pub format: u32,
    pub taskflow_version: String,
    pub schema_version: i64,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub source_backend: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableEntry {
    pub name: String,
    pub rows: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlobEntry {
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    #[serde(flatten)]
    pub header: Header,
    pub tables: Vec<TableEntry>,
    pub blobs: Vec<BlobEntry>,
    /// SHA-256 of every member before this one, by path.
    pub members: BTreeMap<String, String>,
    /// A digest of the database's logical content: equal for equal content, whatever the
    /// backend it came from.
    pub content_sha256: String,
}

impl Manifest {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    pub fn blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.bytes).sum()
    }
}

/// The digest of a database's content, as a manifest records it: from its tables' digests in
/// order.
pub fn digest_of(tables: &[TableEntry]) -> String {
    let mut digest = Sha256::new();
    for table in tables {
        digest.update(format!("{} {}\n", table.name, table.sha256));
    }
    hex::encode(digest.finalize())
}

/// One row as an archive holds it: a JSON object and a newline.
pub(super) fn write_row(
    out: &mut impl Write,
    values: &serde_json::Map<String, serde_json::Value>,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, values)?;
    out.write_all(b"\n")
}

/// A writer or reader that hashes what passes through it.
pub(super) struct Hashing<T> {
    inner: T,
    digest: Sha256,
    bytes: u64,
}

impl<T> Hashing<T> {
    pub(super) fn new(inner: T) -> Self {
        Self {
            inner,
            digest: Sha256::new(),
            bytes: 0,
        }
    }

    pub(super) fn get_ref(&self) -> &T {
        &self.inner
    }

    pub(super) fn finish(self) -> (T, String, u64) {
        (self.inner, hex::encode(self.digest.finalize()), self.bytes)
    }
}

impl<T: Write> Write for Hashing<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digest.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<T: Read> Read for Hashing<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// `taskflow-20261124T225100Z.tar.zst`, from its time.
/// `taskflow-20261124T225100Z.tar.zst`, from its time; the `sequence`th other archive of the
/// same second is `taskflow-20261124T225100Z-<sequence>.tar.zst`.
pub(super) fn archive_name(at: time::OffsetDateTime, sequence: u32) -> String {
    let format =
        time::macros::format_description!("taskflow-[year][month][day]T[hour][minute][second]Z");
    let stamp = at.format(format).expect("a valid time");
    match sequence {
        0 => format!("{stamp}.tar.zst"),
        n => format!("{stamp}-{n}.tar.zst"),
    }
}

/// The time in an archive's name and its sequence number within that second, if it is one.
pub fn archive_time(name: &str) -> Option<(time::OffsetDateTime, u32)> {
    let stem = name.strip_prefix("taskflow-")?.strip_suffix(".tar.zst")?;
    let (stamp, sequence) = match stem.split_once('-') {
        Some((stamp, n)) if !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()) => {
            (stamp, n.parse().ok()?)
        }
        Some(_) => return None,
        None => (stem, 0),
    };
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(stamp, format)
        .ok()
        .map(|t| (t.assume_utc(), sequence))
}

pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub(super) fn tar_header(size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header
}
