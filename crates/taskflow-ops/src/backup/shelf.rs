//! Where archives are kept: a directory, or a bucket and prefix in S3-compatible object storage
//! (`s3://bucket/prefix`). Either way an archive appears under its final name only when it is
//! whole: a file is renamed into place after its fsync, an object's multipart upload is
//! completed after its last part.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use taskflow_blobs::Bucket;

/// A directory of archives, or a bucket prefix holding them.
#[derive(Debug, Clone)]
pub enum Shelf {
    Dir(PathBuf),
    Bucket(Bucket),
}

impl From<&Path> for Shelf {
    fn from(dir: &Path) -> Self {
        Shelf::Dir(dir.to_owned())
    }
}

impl From<PathBuf> for Shelf {
    fn from(dir: PathBuf) -> Self {
        Shelf::Dir(dir)
    }
}

impl fmt::Display for Shelf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shelf::Dir(dir) => write!(f, "{}", dir.display()),
            Shelf::Bucket(bucket) => f.write_str(&bucket.url("")),
        }
    }
}

impl Shelf {
    /// The archive called `name` here (whether or not it exists).
    pub fn archive(&self, name: &str) -> ArchiveRef {
        match self {
            Shelf::Dir(dir) => ArchiveRef::File(dir.join(name)),
            Shelf::Bucket(bucket) => ArchiveRef::Object(bucket.clone(), name.to_owned()),
        }
    }
}

/// One archive: a file, or an object in a bucket.
#[derive(Debug, Clone)]
pub enum ArchiveRef {
    File(PathBuf),
    Object(Bucket, String),
}

impl From<&Path> for ArchiveRef {
    fn from(path: &Path) -> Self {
        ArchiveRef::File(path.to_owned())
    }
}

impl From<PathBuf> for ArchiveRef {
    fn from(path: PathBuf) -> Self {
        ArchiveRef::File(path)
    }
}

impl From<&PathBuf> for ArchiveRef {
    fn from(path: &PathBuf) -> Self {
        ArchiveRef::File(path.clone())
    }
}

impl fmt::Display for ArchiveRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveRef::File(path) => write!(f, "{}", path.display()),
            ArchiveRef::Object(bucket, name) => f.write_str(&bucket.url(name)),
        }
    }
}

impl ArchiveRef {
    /// The file's path, when the archive is a file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            ArchiveRef::File(path) => Some(path),
            ArchiveRef::Object(..) => None,
        }
    }

    /// Its bytes from the start, for blocking code (call from `spawn_blocking`).
    pub(super) fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match self {
            ArchiveRef::File(path) => Ok(Box::new(std::fs::File::open(path)?)),
            ArchiveRef::Object(bucket, name) => bucket.open_blocking(name).map_err(|e| {
                let kind = match e.kind {
                    taskflow_blobs::ProblemKind::NotFound => io::ErrorKind::NotFound,
                    _ => io::ErrorKind::Other,
                };
                io::Error::new(kind, e.message)
            }),
        }
    }
}
