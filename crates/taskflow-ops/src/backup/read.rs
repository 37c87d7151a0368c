//! Reading an archive back, checking every member against the manifest, and `verify`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, BufReader, Read};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use taskflow_core::Store;
use taskflow_core::attachment::Sha256Hex;
use taskflow_core::backup::{ImportItem, Record, table, tables_at};
use tokio::sync::{mpsc, oneshot};

use super::create::table_digests;
use super::format::{
    BlobEntry, FORMAT, HEADER, Hashing, Header, MANIFEST, Manifest, TableEntry, digest_of,
};
use super::shelf::ArchiveRef;
use crate::OpsError;

/// Why an archive was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(
        "{path} is backup format {found}, newer than this taskflow reads (up to {supported}); restore it with taskflow {version} or later"
    )]
    NewerFormat {
        path: String,
        found: u32,
        supported: u32,
        version: String,
    },
    #[error(
        "{path} holds schema version {found}, newer than this taskflow knows ({supported}); restore it with taskflow {version} or later"
    )]
    NewerSchema {
        path: String,
        found: i64,
        supported: i64,
        version: String,
    },
    #[error("{path} is not a valid backup: {problem}")]
    Invalid { path: String, problem: String },
    #[error("cannot store {member} from {path}: {problem}")]
    Store {
        path: String,
        member: String,
        problem: String,
    },
}

pub(super) fn invalid(path: &ArchiveRef, problem: impl Into<String>) -> ArchiveError {
    ArchiveError::Invalid {
        path: path.to_string(),
        problem: problem.into(),
    }
}

/// Where a restore puts the files it reads before the database part commits.
pub trait BlobSink: Send {
    fn blob(&mut self, sha256: &Sha256Hex, content: &mut dyn Read) -> io::Result<()>;
}

/// Discards files (their digests are still checked): for `verify`.
pub struct Discard;

impl BlobSink for Discard {
    fn blob(&mut self, _: &Sha256Hex, content: &mut dyn Read) -> io::Result<()> {
        io::copy(content, &mut io::sink()).map(|_| ())
    }
}

/// A member being read, remembering whether reading it failed.
struct Watched<R> {
    inner: R,
    failed: bool,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|_| self.failed = true)
    }
}

/// Reads the first member of an archive: its header.
pub fn read_header(path: &ArchiveRef) -> Result<Header, ArchiveError> {
    let mut archive = open(path)?;
    let mut entries = archive.entries().map_err(|e| damaged(path, e))?;
    header_entry(path, &mut entries).map(|(header, _)| header)
}

type Source = Box<dyn Read + Send>;
type Archive = tar::Archive<zstd::Decoder<'static, io::BufReader<Source>>>;

pub(super) fn open(path: &ArchiveRef) -> Result<Archive, ArchiveError> {
    let file = path
        .open()
        .map_err(|e| invalid(path, format!("cannot open it: {e}")))?;
    let decoder =
        zstd::Decoder::new(file).map_err(|e| invalid(path, format!("not a zstd file: {e}")))?;
    Ok(tar::Archive::new(decoder))
}

pub(super) fn damaged(path: &ArchiveRef, e: io::Error) -> ArchiveError {
    invalid(path, format!("damaged or truncated: {e}"))
}

/// The first member, which must be the header: parsed, with the SHA-256 of its bytes.
pub(super) fn header_entry(
    path: &ArchiveRef,
    entries: &mut tar::Entries<'_, zstd::Decoder<'static, io::BufReader<Source>>>,
) -> Result<(Header, String), ArchiveError> {
    let mut first = entries
        .next()
        .ok_or_else(|| invalid(path, "it is empty"))?
        .map_err(|e| damaged(path, e))?;
    header_of(path, &mut first)
}

/// Refuses an archive whose schema is newer than this build's.
pub(super) fn check_schema(
    path: &ArchiveRef,
    header: &Header,
    latest: i64,
) -> Result<(), ArchiveError> {
    if header.schema_version > latest {
        return Err(ArchiveError::NewerSchema {
            path: path.to_string(),
            found: header.schema_version,
            supported: latest,
            version: header.taskflow_version.clone(),
        });
    }
    Ok(())
}

/// The header member: parsed, with the SHA-256 of its bytes.
pub(super) fn header_of(
    path: &ArchiveRef,
    entry: &mut tar::Entry<impl Read>,
) -> Result<(Header, String), ArchiveError> {
    let name = entry
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    if name != HEADER {
        return Err(invalid(
            path,
            format!("it starts with {name:?}, not {HEADER}"),
        ));
    }
    let mut text = Vec::new();
    entry
        .take(1 << 20)
        .read_to_end(&mut text)
        .map_err(|e| invalid(path, format!("damaged: {e}")))?;
    // Read the format alone first: a newer format may have a header this build cannot parse.
    #[derive(Deserialize)]
    struct Format {
        format: u32,
        #[serde(default)]
        taskflow_version: String,
    }
    let format: Format = serde_json::from_slice(&text)
        .map_err(|e| invalid(path, format!("its header is not valid: {e}")))?;
    if format.format > FORMAT {
        return Err(ArchiveError::NewerFormat {
            path: path.to_string(),
            found: format.format,
            supported: FORMAT,
            version: format.taskflow_version,
        });
    }
    let header = serde_json::from_slice(&text)
        .map_err(|e| invalid(path, format!("its header is not valid: {e}")))?;
    Ok((header, hex::encode(Sha256::digest(&text))))
}

/// Reads a whole archive, checking it as it goes: sends the header on `header_tx`, every row on
/// `rows`, every file to `sink`, and `Commit` only once the manifest has confirmed every digest
/// and count. Blocking. Any problem ends it early with an error (and no `Commit`).
pub fn read_archive(
    path: &ArchiveRef,
    latest_schema: i64,
    header_tx: oneshot::Sender<Header>,
    rows: mpsc::Sender<ImportItem>,
    sink: &mut dyn BlobSink,
) -> Result<Manifest, ArchiveError> {
    let mut archive = open(path)?;
    let damaged = |e: io::Error| damaged(path, e);
    let mut entries = archive.entries().map_err(damaged)?;
    let (header, header_sha256) = header_entry(path, &mut entries)?;
    check_schema(path, &header, latest_schema)?;
    let mut seen_members = BTreeMap::from([(HEADER.to_owned(), header_sha256)]);
    let _ = header_tx.send(header.clone());
    let mut tables: Vec<TableEntry> = Vec::new();
    let mut blobs: Vec<BlobEntry> = Vec::new();
    let mut manifest: Option<Manifest> = None;
    for entry in entries {
        let entry = entry.map_err(damaged)?;
        let name = entry
            .path()
            .map_err(damaged)?
            .to_str()
            .map(str::to_owned)
            .ok_or_else(|| invalid(path, "a member name is not UTF-8"))?;
        if manifest.is_some() {
            return Err(invalid(path, format!("{name} comes after the manifest")));
        }
        if name == MANIFEST {
            let mut text = Vec::new();
            entry
                .take(64 << 20)
                .read_to_end(&mut text)
                .map_err(damaged)?;
            manifest = Some(
                serde_json::from_slice(&text)
                    .map_err(|e| invalid(path, format!("its manifest is not valid: {e}")))?,
            );
        } else if let Some(table_name) = name
            .strip_prefix("db/")
            .and_then(|n| n.strip_suffix(".jsonl"))
        {
            let spec = table(table_name)
                .filter(|t| t.since <= header.schema_version)
                .ok_or_else(|| invalid(path, format!("unknown table {table_name}")))?;
            let mut reader = BufReader::new(Hashing::new(entry));
            let mut line = String::new();
            let mut count = 0u64;
            loop {
                line.clear();
                if reader.read_line(&mut line).map_err(damaged)? == 0 {
                    break;
                }
                let values = serde_json::from_str(&line)
                    .map_err(|e| invalid(path, format!("{name} line {}: {e}", count + 1)))?;
                let record = Record {
                    table: spec,
                    values,
                };
                record
                    .check()
                    .map_err(|e| invalid(path, format!("{name} line {}: {e}", count + 1)))?;
                if rows.blocking_send(ImportItem::Record(record)).is_err() {
                    return Err(invalid(path, "the restore stopped reading"));
                }
                count += 1;
            }
            let (_, sha256, _) = reader.into_inner().finish();
            seen_members.insert(name.clone(), sha256.clone());
            tables.push(TableEntry {
                name: table_name.to_owned(),
                rows: count,
                sha256,
            });
        } else if let Some(hex) = name.strip_prefix("blobs/") {
            let sha256 = Sha256Hex::parse(hex)
                .map_err(|_| invalid(path, format!("{name} is not named by a digest")))?;
            let mut reader = Hashing::new(Watched {
                inner: entry,
                failed: false,
            });
            if let Err(e) = sink.blob(&sha256, &mut reader) {
                // The archive could not be read, or what it was being stored in failed.
                return Err(if reader.get_ref().failed {
                    invalid(path, format!("{name}: {e}"))
                } else {
                    ArchiveError::Store {
                        path: path.to_string(),
                        member: name.clone(),
                        problem: e.to_string(),
                    }
                });
            }
            let (_, digest, bytes) = reader.finish();
            if digest != sha256.as_str() {
                return Err(invalid(path, format!("{name} does not match its digest")));
            }
            seen_members.insert(name.clone(), digest.clone());
            blobs.push(BlobEntry {
                sha256: digest,
                bytes,
            });
        } else {
            return Err(invalid(path, format!("unexpected member {name}")));
        }
    }
    let manifest = manifest.ok_or_else(|| {
        invalid(
            path,
            "it has no manifest: it is truncated or was never finished",
        )
    })?;
    if manifest.header != header {
        return Err(invalid(
            path,
            "the manifest does not match the archive's header",
        ));
    }
    let expected_members = &manifest.members;
    if *expected_members != seen_members {
        let differing: BTreeSet<&String> = expected_members
            .keys()
            .chain(seen_members.keys())
            .filter(|k| expected_members.get(*k) != seen_members.get(*k))
            .collect();
        return Err(invalid(
            path,
            format!(
                "members differ from the manifest: {}",
                differing
                    .iter()
                    .take(3)
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if manifest.tables != tables {
        return Err(invalid(path, "row counts differ from the manifest"));
    }
    if manifest.blobs != blobs {
        return Err(invalid(
            path,
            "the attachment files differ from the manifest",
        ));
    }
    let expected_tables: Vec<&str> = tables_at(header.schema_version).map(|t| t.name).collect();
    let found_tables: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    if expected_tables != found_tables {
        return Err(invalid(path, "tables are missing or out of order"));
    }
    if manifest.content_sha256 != digest_of(&tables) {
        return Err(invalid(
            path,
            "the content digest differs from the manifest",
        ));
    }
    if rows.blocking_send(ImportItem::Commit).is_err() {
        return Err(invalid(path, "the restore stopped reading"));
    }
    Ok(manifest)
}

impl From<ArchiveError> for OpsError {
    fn from(err: ArchiveError) -> Self {
        OpsError::Refused(err.to_string())
    }
}

/// Checks an archive completely: every member's digest, then a restore into `scratch` (an
/// empty, unmigrated store that is thrown away afterwards; the binary opens a SQLite file in a
/// temporary directory) whose content must match the manifest's counts and digest. Returns the
/// manifest.
pub async fn verify(path: &ArchiveRef, scratch: &dyn Store) -> Result<Manifest, OpsError> {
    let latest = scratch.latest_schema_version();
    let (header_tx, header_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel(1024);
    let archive = path.clone();
    let reader = tokio::task::spawn_blocking(move || {
        read_archive(&archive, latest, header_tx, tx, &mut Discard)
    });
    let imported = async {
        let Ok(header) = header_rx.await else {
            return Ok(None);
        };
        scratch.migrate_to(header.schema_version).await?;
        scratch.import(rx, false).await.map(Some)
    };
    let imported: Result<_, taskflow_core::StoreError> = imported.await;
    let manifest = reader
        .await
        .map_err(|e| OpsError::Refused(e.to_string()))??;
    imported?;
    let tables = table_digests(scratch, manifest.header.schema_version).await?;
    if tables != manifest.tables {
        return Err(OpsError::Refused(format!(
            "{path}: restored rows differ from the manifest"
        )));
    }
    if digest_of(&tables) != manifest.content_sha256 {
        return Err(OpsError::Refused(format!(
            "{path}: the restored content's digest differs from the manifest"
        )));
    }
    Ok(manifest)
}
