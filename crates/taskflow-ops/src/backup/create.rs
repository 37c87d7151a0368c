//! Writing an archive: one snapshot of the database and the files it refers to.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use taskflow_blobs::Blobs;
use taskflow_core::Store;
use taskflow_core::attachment::Sha256Hex;
use taskflow_core::backup::{Record, tables_at};
use tokio::sync::mpsc;

use super::format::{
    BlobEntry, FORMAT, HEADER, Hashing, Header, MANIFEST, Manifest, TableEntry, archive_name,
    digest_of, sync_dir, tar_header, write_row,
};
use super::progress::Progress;
use super::shelf::{ArchiveRef, Shelf};
use crate::{OpsError, human_bytes};

/// A table's rows, spooled to an anonymous file until the archive is written.
pub(super) struct Spool {
    name: &'static str,
    file: Hashing<BufWriter<File>>,
    rows: u64,
}

/// Writes a backup of `store` and the files in `blobs` onto `shelf` (a directory or a bucket);
/// returns the archive and its manifest.
pub async fn create(
    store: &dyn Store,
    blobs: &Blobs,
    shelf: &Shelf,
    progress: Progress,
) -> Result<(ArchiveRef, Manifest), OpsError> {
    // Rows are spooled beside the archive, or in the temporary directory when it goes to a
    // bucket.
    let spool_dir = match shelf {
        Shelf::Dir(output_dir) => {
            // Archives hold password hashes and session tokens: their directory, like each
            // archive, is for this user only.
            std::os::unix::fs::DirBuilderExt::mode(
                std::fs::DirBuilder::new().recursive(true),
                0o700,
            )
            .create(output_dir)
            .map_err(OpsError::io(format!(
                "cannot create {}",
                output_dir.display()
            )))?;
            output_dir.clone()
        }
        Shelf::Bucket(_) => std::env::temp_dir(),
    };
    // gc deletes only under the exclusive lock: holding it shared keeps every file the
    // snapshot refers to on disk until it is copied.
    let _lock = blobs
        .lock(false)
        .await
        .map_err(OpsError::blobs("locking the blob store"))?;
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
    let stored: BTreeMap<Sha256Hex, u64> = blobs
        .list()
        .await
        .map_err(OpsError::blobs("listing attachment contents"))?
        .into_iter()
        .map(|b| (b.sha256, b.bytes))
        .collect();

    let shelf = shelf.clone();
    let blobs = blobs.clone();
    let (path, manifest) = tokio::task::spawn_blocking(move || {
        let members = Members {
            blobs: &blobs,
            stored: &stored,
            header,
            now,
            spools,
            referenced,
            progress: &progress,
        };
        write_archive(&shelf, members)
    })
    .await
    .map_err(|e| OpsError::io("writing the archive")(io::Error::other(e.to_string())))??;
    Ok((path, manifest))
}

fn write_archive(shelf: &Shelf, members: Members<'_>) -> Result<(ArchiveRef, Manifest), OpsError> {
    let (now, progress) = (members.now, members.progress);
    match shelf {
        Shelf::Dir(output_dir) => {
            let name = archive_name(now, 0);
            // The unfinished archive has a name of its own, created exclusively: two backups
            // at once never write into the same file. It is removed if writing fails, and
            // keeps its name if the process dies.
            let partial = tempfile::Builder::new()
                .prefix(&format!(".{name}."))
                .suffix(".partial")
                .tempfile_in(output_dir)
                .map_err(OpsError::io(format!(
                    "cannot create an archive in {}",
                    output_dir.display()
                )))?;
            let label = partial.path().display().to_string();
            let context = |what: &str| OpsError::io(format!("{what} {label}"));
            let file = partial.reopen().map_err(context("cannot open"))?;
            let (file, manifest) = members.write(file, &label, &shelf.to_string())?;
            file.sync_all().map_err(context("syncing"))?;
            drop(file);
            taskflow_core::failpoint::failpoint_blocking("backup-before-rename");
            let path = place(partial, output_dir, now).map_err(context("renaming"))?;
            sync_dir(output_dir).map_err(context("syncing the directory of"))?;
            progress.done();
            Ok((ArchiveRef::File(path), manifest))
        }
        Shelf::Bucket(bucket) => {
            let handle = tokio::runtime::Handle::current();
            let problem = |e: taskflow_blobs::S3Problem| OpsError::Io {
                context: format!("writing the archive to {shelf}"),
                source: io::Error::other(e.message),
            };
            // Never over an archive already there: a second backup in the same second is
            // `…Z-1.tar.zst`, and so on.
            let mut sequence = 0;
            let name = loop {
                let name = archive_name(now, sequence);
                if !handle.block_on(bucket.exists(&name)).map_err(problem)? {
                    break name;
                }
                sequence += 1;
            };
            let label = bucket.url(&name);
            let writer = bucket.create_blocking(&name).map_err(problem)?;
            let (writer, manifest) = members.write(writer, &label, &shelf.to_string())?;
            taskflow_core::failpoint::failpoint_blocking("backup-before-rename");
            writer
                .finish()
                .map_err(OpsError::io(format!("writing {label}")))?;
            progress.done();
            Ok((ArchiveRef::Object(bucket.clone(), name), manifest))
        }
    }
}

/// What goes into an archive.
struct Members<'a> {
    blobs: &'a Blobs,
    stored: &'a BTreeMap<Sha256Hex, u64>,
    header: Header,
    now: time::OffsetDateTime,
    spools: Vec<Spool>,
    referenced: BTreeSet<String>,
    progress: &'a Progress,
}

impl Members<'_> {
    /// Writes the compressed archive to `out` (called `label` in messages, on `shelf`), and
    /// gives `out` back once everything is written to it.
    fn write<W: Write>(self, out: W, label: &str, shelf: &str) -> Result<(W, Manifest), OpsError> {
        let Members {
            blobs,
            stored,
            header,
            now,
            spools,
            referenced,
            progress,
        } = self;
        let context = |what: &str| OpsError::io(format!("{what} {label}"));
        let mtime = now.unix_timestamp().max(0) as u64;

        let mut blob_list = Vec::new();
        for sha256 in &referenced {
            let sha256 = Sha256Hex::parse(sha256).map_err(|e| OpsError::Io {
                context: "an attachment row".to_owned(),
                source: io::Error::other(e.to_string()),
            })?;
            let bytes = *stored.get(&sha256).ok_or_else(|| OpsError::Io {
                context: format!(
                    "the file of attachment content {} is missing from {}; run `taskflow doctor`",
                    sha256.as_str(),
                    blobs.describe()
                ),
                source: io::Error::from(io::ErrorKind::NotFound),
            })?;
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
        let total: u64 = spooled.iter().map(|(_, b)| b).sum::<u64>()
            + blob_list.iter().map(|(_, b)| b).sum::<u64>();
        progress.stage(
            format!(
                "backup: writing {} rows and {} files ({}) to {}",
                tables.iter().map(|t| t.rows).sum::<u64>(),
                blob_list.len(),
                human_bytes(total),
                shelf
            ),
            Some(total),
        );

        let mut encoder = zstd::Encoder::new(BufWriter::with_capacity(1 << 20, out), 3)
            .map_err(context("compressing"))?;
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
            let source = blobs.read_blocking(&sha256).map_err(|e| OpsError::Blobs {
                context: format!("reading {} for {label}", sha256.as_str()),
                source: e,
            })?;
            let mut reader = Hashing::new(source.take(bytes));
            let member = format!("blobs/{}", sha256.as_str());
            archive
                .append_data(&mut tar_header(bytes, mtime), &member, &mut reader)
                .map_err(context("writing"))?;
            let (_, digest, read) = reader.finish();
            if digest != sha256.as_str() || read != bytes {
                return Err(OpsError::Io {
                    context: format!(
                        "the content {} in {} does not match its name (it is damaged); run `taskflow doctor`",
                        sha256.as_str(),
                        blobs.describe()
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
        let out = writer
            .into_inner()
            .map_err(|e| context("writing")(e.into_error()))?;
        Ok((out, manifest))
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

/// Gives the finished archive its name, never replacing an archive already there: a second
/// backup in the same second is `…Z-1.tar.zst`, and so on.
fn place(
    mut partial: tempfile::NamedTempFile,
    output_dir: &Path,
    at: time::OffsetDateTime,
) -> io::Result<PathBuf> {
    for sequence in 0.. {
        let path = output_dir.join(archive_name(at, sequence));
        match partial.persist_noclobber(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => partial = e.file,
            Err(e) => return Err(e.error),
        }
    }
    unreachable!("some sequence number is free")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::format::archive_time;

    #[test]
    fn archives_of_the_same_second_never_replace_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let at = time::macros::datetime!(2026-12-01 22:00:00 UTC);
        let mut placed = Vec::new();
        for content in [b"first", b"other", b"third"] {
            let mut partial = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
            std::io::Write::write_all(&mut partial, content).unwrap();
            placed.push(place(partial, dir.path(), at).unwrap());
        }
        let names: Vec<String> = placed
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "taskflow-20261201T220000Z.tar.zst",
                "taskflow-20261201T220000Z-1.tar.zst",
                "taskflow-20261201T220000Z-2.tar.zst"
            ]
        );
        let contents: Vec<Vec<u8>> = placed.iter().map(|p| std::fs::read(p).unwrap()).collect();
        assert_eq!(
            contents,
            [b"first".to_vec(), b"other".to_vec(), b"third".to_vec()]
        );
        assert_eq!(archive_time(&names[2]), Some((at, 2)));
        for not_an_archive in [
            "taskflow-20261201T220000Z-01.tar.zst",
            "taskflow-20261201T220000Z-x.tar.zst",
            ".taskflow-20261201T220000Z.tar.zst.abc.partial",
        ] {
            assert_eq!(archive_time(not_an_archive), None, "{not_an_archive}");
        }
    }
}
