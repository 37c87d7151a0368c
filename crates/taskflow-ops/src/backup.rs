//! One consistent, portable archive of an installation: the database in the backend-neutral
//! form of `taskflow_core::backup` and every attachment file it refers to, from the same
//! moment, checked member by member on the way back in.
//!
//! ```text
//! taskflow-20261124T225100Z.tar.zst     zstd (with frame checksums) around a tar of:
//!   taskflow-backup.json                format version, taskflow version, schema version, time, backend
//!   db/<table>.jsonl                    one JSON object per row, tables parents first
//!   blobs/<sha256>                      every attachment file the rows refer to
//!   manifest.json                       rows and SHA-256 per table, size per blob, digest per member
//! ```
//!
//! An archive is written as `.<name>.partial`, fsynced, then renamed: a file with the final
//! name is always complete. Reading checks every digest and count against the manifest, which
//! comes last, before anything read is committed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use taskflow_blobs::BlobStore;
use taskflow_core::Store;
use taskflow_core::attachment::Sha256Hex;
use taskflow_core::backup::{ImportItem, Record, table, tables_at};
use tokio::sync::{mpsc, oneshot};

use crate::{OpsError, human_bytes};

/// The archive format this build writes, and the newest it reads.
pub const FORMAT: u32 = 1;
const HEADER: &str = "taskflow-backup.json";
const MANIFEST: &str = "manifest.json";

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
fn write_row(
    out: &mut impl Write,
    values: &serde_json::Map<String, serde_json::Value>,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, values)?;
    out.write_all(b"\n")
}

/// A writer or reader that hashes what passes through it.
struct Hashing<T> {
    inner: T,
    digest: Sha256,
    bytes: u64,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            digest: Sha256::new(),
            bytes: 0,
        }
    }

    fn finish(self) -> (T, String, u64) {
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

/// Reports progress: a bar on a terminal, a few plain lines otherwise.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(terminal: bool) -> Self {
        Self {
            bar: terminal.then(indicatif::ProgressBar::no_length),
        }
    }

    /// No output at all.
    pub fn quiet() -> Self {
        Self { bar: None }
    }

    fn stage(&self, message: String, total: Option<u64>) {
        match &self.bar {
            Some(bar) => {
                if let Some(total) = total {
                    bar.set_length(total);
                    bar.set_position(0);
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
                        )
                        .expect("a valid template")
                        .progress_chars("=> "),
                    );
                }
                bar.set_message(message);
            }
            None => eprintln!("{message}"),
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `taskflow-20261124T225100Z.tar.zst`, from its time.
fn archive_name(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "taskflow-[year][month][day]T[hour][minute][second]Z.tar.zst"
    );
    at.format(format).expect("a valid time")
}

/// The time in an archive's name, if it is one.
pub fn archive_time(name: &str) -> Option<time::OffsetDateTime> {
    let format = time::macros::format_description!(
        "taskflow-[year][month][day]T[hour][minute][second]Z.tar.zst"
    );
    time::PrimitiveDateTime::parse(name, format)
        .ok()
        .map(|t| t.assume_utc())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn tar_header(size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header
}

/// A table's rows, spooled to an anonymous file until the archive is written.
struct Spool {
    name: &'static str,
    file: Hashing<BufWriter<File>>,
    rows: u64,
}

/// Writes a backup of `store` and the files in `blobs` into `output_dir`; returns the
/// archive's path and its manifest.
pub async fn create(
    store: &dyn Store,
    blobs: &BlobStore,
    output_dir: &Path,
    progress: Progress,
) -> Result<(PathBuf, Manifest), OpsError> {
    std::fs::create_dir_all(output_dir).map_err(OpsError::io(format!(
        "cannot create {}",
        output_dir.display()
    )))?;
    // gc deletes only under the exclusive lock: holding it shared keeps every file the
    // snapshot refers to on disk until it is copied.
    let _lock = blobs
        .lock_shared()
        .await
        .map_err(OpsError::io("locking the blob store"))?;
    let schema_version = store.schema_version().await?.unwrap_or(0);
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 is valid");
    let header = Header {
        format: FORMAT,
        taskflow_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version,
        created_at: now
            .format(&time::format_description::well_known::Rfc3339)
            .expect("a valid time"),
        source_backend: store.backend().to_owned(),
    };
    progress.stage("backup: reading the database".to_owned(), None);

    let (tx, mut rx) = mpsc::channel::<Record>(1024);
    let spool_dir = output_dir.to_owned();
    let spooler =
        tokio::task::spawn_blocking(move || -> io::Result<(Vec<Spool>, BTreeSet<String>)> {
            let mut spools: Vec<Spool> = Vec::new();
            let mut referenced = BTreeSet::new();
            for table in tables_at(schema_version) {
                spools.push(Spool {
                    name: table.name,
                    file: Hashing::new(BufWriter::new(tempfile::tempfile_in(&spool_dir)?)),
                    rows: 0,
                });
            }
            while let Some(record) = rx.blocking_recv() {
                if record.table.name == "attachments"
                    && let Some(sha256) = record.values.get("sha256").and_then(|v| v.as_str())
                {
                    referenced.insert(sha256.to_owned());
                }
                let spool = spools
                    .iter_mut()
                    .find(|s| s.name == record.table.name)
                    .ok_or_else(|| {
                        io::Error::other(format!("unexpected table {}", record.table.name))
                    })?;
                write_row(&mut spool.file, &record.values)?;
                spool.rows += 1;
            }
            Ok((spools, referenced))
        });
    let exported = store.export(tx).await;
    let (spools, referenced) = spooler
        .await
        .map_err(|e| io::Error::other(e.to_string()))
        .and_then(|r| r)
        .map_err(OpsError::io("spooling the database"))?;
    exported?;

    let output_dir = output_dir.to_owned();
    let blobs = blobs.clone();
    let (path, manifest) = tokio::task::spawn_blocking(move || {
        write_archive(
            &output_dir,
            &blobs,
            header,
            now,
            spools,
            referenced,
            &progress,
        )
    })
    .await
    .map_err(|e| OpsError::io("writing the archive")(io::Error::other(e.to_string())))??;
    Ok((path, manifest))
}

fn write_archive(
    output_dir: &Path,
    blobs: &BlobStore,
    header: Header,
    now: time::OffsetDateTime,
    spools: Vec<Spool>,
    referenced: BTreeSet<String>,
    progress: &Progress,
) -> Result<(PathBuf, Manifest), OpsError> {
    let result = write_archive_inner(output_dir, blobs, header, now, spools, referenced, progress);
    if result.is_err() {
        // Never leave a half-written archive behind.
        let partial = output_dir.join(format!(".{}.partial", archive_name(now)));
        let _ = std::fs::remove_file(partial);
    }
    result
}

fn write_archive_inner(
    output_dir: &Path,
    blobs: &BlobStore,
    header: Header,
    now: time::OffsetDateTime,
    spools: Vec<Spool>,
    referenced: BTreeSet<String>,
    progress: &Progress,
) -> Result<(PathBuf, Manifest), OpsError> {
    let name = archive_name(now);
    let path = output_dir.join(&name);
    let partial = output_dir.join(format!(".{name}.partial"));
    let mtime = now.unix_timestamp().max(0) as u64;
    let context = |what: &str| OpsError::io(format!("{what} {}", partial.display()));

    let mut blob_list = Vec::new();
    for sha256 in &referenced {
        let sha256 = Sha256Hex::parse(sha256).map_err(|e| OpsError::Io {
            context: "an attachment row".to_owned(),
            source: io::Error::other(e.to_string()),
        })?;
        let bytes = std::fs::metadata(blobs.path(&sha256))
            .map_err(OpsError::io(format!(
                "the file of attachment content {} is missing from {}; run `taskflow doctor`",
                sha256.as_str(),
                blobs.blobs_dir().display()
            )))?
            .len();
        blob_list.push((sha256, bytes));
    }
    let mut tables = Vec::new();
    let mut spooled = Vec::new();
    for spool in spools {
        let (writer, sha256, bytes) = spool.file.finish();
        let file = writer
            .into_inner()
            .map_err(|e| context("spooling for")(e.into_error()))?;
        tables.push(TableEntry {
            name: spool.name.to_owned(),
            rows: spool.rows,
            sha256,
        });
        spooled.push((file, bytes));
    }
    let total: u64 =
        spooled.iter().map(|(_, b)| b).sum::<u64>() + blob_list.iter().map(|(_, b)| b).sum::<u64>();
    progress.stage(
        format!(
            "backup: writing {} rows and {} files ({}) to {}",
            tables.iter().map(|t| t.rows).sum::<u64>(),
            blob_list.len(),
            human_bytes(total),
            path.display()
        ),
        Some(total),
    );

    let file = File::create(&partial).map_err(context("cannot create"))?;
    let mut encoder =
        zstd::Encoder::new(BufWriter::new(file), 3).map_err(context("compressing"))?;
    encoder
        .include_checksum(true)
        .map_err(context("compressing"))?;
    let mut archive = tar::Builder::new(encoder);
    let mut members = BTreeMap::new();
    let header_json = serde_json::to_vec_pretty(&header).expect("serialisable");
    members.insert(HEADER.to_owned(), hex::encode(Sha256::digest(&header_json)));
    archive
        .append_data(
            &mut tar_header(header_json.len() as u64, mtime),
            HEADER,
            header_json.as_slice(),
        )
        .map_err(context("writing"))?;
    for (table, (mut file, bytes)) in tables.iter().zip(spooled) {
        use std::io::Seek;
        file.seek(io::SeekFrom::Start(0))
            .map_err(context("rereading the spool of"))?;
        let member = format!("db/{}.jsonl", table.name);
        archive
            .append_data(&mut tar_header(bytes, mtime), &member, file)
            .map_err(context("writing"))?;
        members.insert(member, table.sha256.clone());
        progress.advance(bytes);
    }
    let mut blob_entries = Vec::new();
    for (sha256, bytes) in blob_list {
        let source = File::open(blobs.path(&sha256)).map_err(context("reading a file for"))?;
        let mut reader = Hashing::new(source.take(bytes));
        let member = format!("blobs/{}", sha256.as_str());
        archive
            .append_data(&mut tar_header(bytes, mtime), &member, &mut reader)
            .map_err(context("writing"))?;
        let (_, digest, read) = reader.finish();
        if digest != sha256.as_str() || read != bytes {
            return Err(OpsError::Io {
                context: format!(
                    "the file {} does not match its name (it is damaged on disk); run `taskflow doctor`",
                    blobs.path(&sha256).display()
                ),
                source: io::Error::other("digest mismatch"),
            });
        }
        members.insert(member, digest.clone());
        blob_entries.push(BlobEntry {
            sha256: digest,
            bytes,
        });
        progress.advance(bytes);
    }
    let manifest = Manifest {
        content_sha256: digest_of(&tables),
        header,
        tables,
        blobs: blob_entries,
        members,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).expect("serialisable");
    archive
        .append_data(
            &mut tar_header(manifest_json.len() as u64, mtime),
            MANIFEST,
            manifest_json.as_slice(),
        )
        .map_err(context("writing"))?;
    let encoder = archive.into_inner().map_err(context("writing"))?;
    let writer = encoder.finish().map_err(context("compressing"))?;
    let file = writer
        .into_inner()
        .map_err(|e| context("writing")(e.into_error()))?;
    file.sync_all().map_err(context("syncing"))?;
    drop(file);
    taskflow_core::failpoint::failpoint_blocking("backup-before-rename");
    std::fs::rename(&partial, &path).map_err(context("renaming"))?;
    sync_dir(output_dir).map_err(context("syncing the directory of"))?;
    progress.done();
    Ok((path, manifest))
}

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
}

fn invalid(path: &Path, problem: impl Into<String>) -> ArchiveError {
    ArchiveError::Invalid {
        path: path.display().to_string(),
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

/// Reads the first member of an archive: its header.
pub fn read_header(path: &Path) -> Result<Header, ArchiveError> {
    let mut archive = open(path)?;
    let mut entries = archive.entries().map_err(|e| damaged(path, e))?;
    header_entry(path, &mut entries).map(|(header, _)| header)
}

type Archive = tar::Archive<zstd::Decoder<'static, io::BufReader<File>>>;

fn open(path: &Path) -> Result<Archive, ArchiveError> {
    let file = File::open(path).map_err(|e| invalid(path, format!("cannot open it: {e}")))?;
    let decoder =
        zstd::Decoder::new(file).map_err(|e| invalid(path, format!("not a zstd file: {e}")))?;
    Ok(tar::Archive::new(decoder))
}

fn damaged(path: &Path, e: io::Error) -> ArchiveError {
    invalid(path, format!("damaged or truncated: {e}"))
}

/// The first member, which must be the header: parsed, with the SHA-256 of its bytes.
fn header_entry(
    path: &Path,
    entries: &mut tar::Entries<'_, zstd::Decoder<'static, io::BufReader<File>>>,
) -> Result<(Header, String), ArchiveError> {
    let mut first = entries
        .next()
        .ok_or_else(|| invalid(path, "it is empty"))?
        .map_err(|e| damaged(path, e))?;
    header_of(path, &mut first)
}

/// Refuses an archive whose schema is newer than this build's.
fn check_schema(path: &Path, header: &Header, latest: i64) -> Result<(), ArchiveError> {
    if header.schema_version > latest {
        return Err(ArchiveError::NewerSchema {
            path: path.display().to_string(),
            found: header.schema_version,
            supported: latest,
            version: header.taskflow_version.clone(),
        });
    }
    Ok(())
}

/// The header member: parsed, with the SHA-256 of its bytes.
fn header_of(
    path: &Path,
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
            path: path.display().to_string(),
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
    path: &Path,
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
            let mut reader = Hashing::new(entry);
            sink.blob(&sha256, &mut reader)
                .map_err(|e| invalid(path, format!("{name}: {e}")))?;
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

/// Per-table row counts and digests of a store's content, serialised exactly as `create`
/// writes it.
/// Tables absent at `schema_version` are left out.
pub async fn table_digests(
    store: &dyn taskflow_core::store::BackupStore,
    schema_version: i64,
) -> Result<Vec<TableEntry>, OpsError> {
    let (tx, mut rx) = mpsc::channel::<Record>(1024);
    let collect = async move {
        let mut tables: Vec<(String, Sha256, u64)> = Vec::new();
        while let Some(record) = rx.recv().await {
            if tables
                .last()
                .is_none_or(|(name, ..)| name != record.table.name)
            {
                tables.push((record.table.name.to_owned(), Sha256::new(), 0));
            }
            let (_, digest, rows) = tables.last_mut().expect("just pushed");
            write_row(digest, &record.values).expect("hashing cannot fail");
            *rows += 1;
        }
        tables
    };
    let (exported, tables) = tokio::join!(store.export(tx), collect);
    exported?;
    let mut by_name: BTreeMap<String, TableEntry> = tables
        .into_iter()
        .map(|(name, digest, rows)| {
            let entry = TableEntry {
                name: name.clone(),
                rows,
                sha256: hex::encode(digest.finalize()),
            };
            (name, entry)
        })
        .collect();
    Ok(tables_at(schema_version)
        .map(|t| {
            by_name.remove(t.name).unwrap_or_else(|| TableEntry {
                name: t.name.to_owned(),
                rows: 0,
                sha256: hex::encode(Sha256::digest(b"")),
            })
        })
        .collect())
}

/// Checks an archive completely: every member's digest, then a restore into `scratch` (an
/// empty, unmigrated store that is thrown away afterwards; the binary opens a SQLite file in a
/// temporary directory) whose content must match the manifest's counts and digest. Returns the
/// manifest.
pub async fn verify(path: &Path, scratch: &dyn Store) -> Result<Manifest, OpsError> {
    let latest = scratch.latest_schema_version();
    let (header_tx, header_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel(1024);
    let archive = path.to_owned();
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
            "{}: restored rows differ from the manifest",
            path.display()
        )));
    }
    if digest_of(&tables) != manifest.content_sha256 {
        return Err(OpsError::Refused(format!(
            "{}: the restored content's digest differs from the manifest",
            path.display()
        )));
    }
    Ok(manifest)
}

/// Writes the files a restore reads into its staging directory, fsynced.
struct Stage {
    dir: PathBuf,
}

impl BlobSink for Stage {
    fn blob(&mut self, sha256: &Sha256Hex, content: &mut dyn Read) -> io::Result<()> {
        let path = self.dir.join(sha256.as_str());
        let mut file = File::create(&path)?;
        io::copy(content, &mut file)?;
        file.sync_all()
    }
}

/// Finishes or undoes what an interrupted restore left in the staging directory: files the
/// database refers to are moved into place (the restore committed), the rest are removed.
pub async fn recover_staging(store: &dyn Store, blobs: &BlobStore) -> Result<u64, OpsError> {
    let staging = blobs.staging_dir();
    if !staging.exists() {
        return Ok(0);
    }
    let referenced: BTreeSet<Sha256Hex> = store.referenced_blobs().await?.into_iter().collect();
    let blobs = blobs.clone();
    crate::blocking("recovering the restore staging directory", move || {
        let mut adopted = 0;
        for restore in std::fs::read_dir(&staging)? {
            let restore = restore?.path();
            if restore.is_dir() {
                for file in std::fs::read_dir(&restore)? {
                    let file = file?.path();
                    let sha256 = file
                        .file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| Sha256Hex::parse(n).ok());
                    match sha256 {
                        Some(sha256) if referenced.contains(&sha256) => {
                            blobs.adopt(&file, &sha256)?;
                            adopted += 1;
                        }
                        _ => std::fs::remove_file(&file)?,
                    }
                }
            }
            std::fs::remove_dir_all(&restore)?;
        }
        std::fs::remove_dir(&staging)?;
        Ok(adopted)
    })
    .await
}

/// Restores an archive into `store` and `blobs`: all or nothing. The archive is checked whole
/// before the database transaction commits; its files wait in the staging directory until
/// then. An older archive is restored at its schema version and migrated forward.
pub async fn restore(
    store: &dyn Store,
    blobs: &BlobStore,
    path: &Path,
    force: bool,
    progress: Progress,
) -> Result<Manifest, OpsError> {
    let latest = store.latest_schema_version();
    let archive = path.to_owned();
    let header = tokio::task::spawn_blocking(move || read_header(&archive))
        .await
        .map_err(|e| OpsError::Refused(e.to_string()))??;
    check_schema(path, &header, latest)?;
    match store.schema_version().await? {
        Some(v) if v >= header.schema_version => {}
        _ => store.migrate_to(header.schema_version).await?,
    }
    recover_staging(store, blobs).await?;
    if !force && store.has_data().await? {
        return Err(OpsError::Refused(
            "the target database already holds data; `taskflow restore --force` replaces all of it"
                .to_owned(),
        ));
    }
    progress.stage(format!("restore: reading {}", path.display()), None);
    let staging = blobs
        .staging_dir()
        .join(format!("restore-{}", std::process::id()));
    std::fs::create_dir_all(&staging)
        .map_err(OpsError::io(format!("cannot create {}", staging.display())))?;
    let (header_tx, _header_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel(1024);
    let archive = path.to_owned();
    let mut sink = Stage {
        dir: staging.clone(),
    };
    let reader = tokio::task::spawn_blocking(move || {
        read_archive(&archive, latest, header_tx, tx, &mut sink)
    });
    let imported = store.import(rx, force).await;
    let read = reader.await.map_err(|e| OpsError::Refused(e.to_string()));
    let discard = || {
        let _ = std::fs::remove_dir_all(&staging);
        // Only when no other restore's files are there.
        let _ = std::fs::remove_dir(blobs.staging_dir());
    };
    let manifest = match (read, imported) {
        (Ok(Ok(manifest)), Ok(_)) => manifest,
        (Ok(Err(e)), _) => {
            discard();
            return Err(e.into());
        }
        (Err(e), _) => {
            discard();
            return Err(e);
        }
        (Ok(Ok(_)), Err(e)) => {
            discard();
            return Err(e.into());
        }
    };
    // Committed: the files move into place (a crash now is finished by `recover_staging`).
    recover_staging(store, blobs).await?;
    if header.schema_version < latest {
        store.migrate().await?;
    }
    progress.done();
    Ok(manifest)
}

/// A backup archive in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveInfo {
    pub name: String,
    pub path: PathBuf,
    pub time: time::OffsetDateTime,
    pub bytes: u64,
}

/// The archives in `dir`, newest first. Unfinished (`.partial`) files are not archives.
pub fn list(dir: &Path) -> io::Result<Vec<ArchiveInfo>> {
    let mut archives = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(time) = archive_time(&name) else {
            continue;
        };
        archives.push(ArchiveInfo {
            bytes: entry.metadata()?.len(),
            path: entry.path(),
            name,
            time,
        });
    }
    archives.sort_by(|a, b| b.time.cmp(&a.time).then(b.name.cmp(&a.name)));
    Ok(archives)
}

/// What `prune` keeps: the newest `last`, and the newest archive of each of the newest
/// `daily` days, `weekly` ISO weeks and `monthly` months that have one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Retention {
    pub last: usize,
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

/// Which of `archives` (newest first) `retention` keeps, by index.
pub fn kept(archives: &[ArchiveInfo], retention: Retention) -> BTreeSet<usize> {
    let mut keep: BTreeSet<usize> = (0..retention.last.min(archives.len())).collect();
    let mut by_period = |count: usize, period: &dyn Fn(&time::OffsetDateTime) -> (i32, u32)| {
        let mut seen = BTreeSet::new();
        for (i, archive) in archives.iter().enumerate() {
            if seen.len() == count {
                break;
            }
            if seen.insert(period(&archive.time)) {
                keep.insert(i);
            }
        }
    };
    by_period(retention.daily, &|t| (t.year(), t.ordinal() as u32));
    by_period(retention.weekly, &|t| {
        let (year, week, _) = t.to_iso_week_date();
        (year, week as u32)
    });
    by_period(retention.monthly, &|t| (t.year(), t.month() as u32));
    keep
}

/// Applies `retention` to the archives in `dir`; returns what was kept and what removed (or
/// would be, with `dry_run`).
pub fn prune(
    dir: &Path,
    retention: Retention,
    dry_run: bool,
) -> io::Result<(Vec<ArchiveInfo>, Vec<ArchiveInfo>)> {
    let archives = list(dir)?;
    let keep = kept(&archives, retention);
    let (mut kept_list, mut removed) = (Vec::new(), Vec::new());
    for (i, archive) in archives.into_iter().enumerate() {
        if keep.contains(&i) {
            kept_list.push(archive);
        } else {
            if !dry_run {
                std::fs::remove_file(&archive.path)?;
            }
            removed.push(archive);
        }
    }
    if !dry_run && !removed.is_empty() {
        sync_dir(dir)?;
    }
    Ok((kept_list, removed))
}
