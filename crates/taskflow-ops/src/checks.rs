//! Health checks of an installation, each with the fix an operator needs when it fails. Used by
//! `taskflow doctor` (all of them) and by `taskflow serve` at start (those that make serving
//! unsafe).

use std::fmt;
use std::io;
use std::path::Path;

use taskflow_blobs::{Blobs, Filesystem, Ownership, ProblemKind, Volume, VolumeBlobs};
use taskflow_core::Store;

use crate::human_bytes;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    /// What to do about it, when it is not ok.
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn problem(
        name: &'static str,
        status: Status,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name,
            status,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn failed(&self) -> bool {
        self.status == Status::Fail
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.status {
            Status::Ok => "ok  ",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        write!(f, "{tag}  {:<14} {}", self.name, self.detail)?;
        if let Some(fix) = &self.fix {
            for (i, line) in fix.lines().enumerate() {
                let lead = if i == 0 { "fix:" } else { "    " };
                write!(f, "\n      {lead} {line}")?;
            }
        }
        Ok(())
    }
}

fn process_ids() -> (u32, u32) {
    (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    )
}

/// How to give a directory to the user taskflow runs as.
pub fn ownership_fix(dir: &Path) -> String {
    let (uid, gid) = process_ids();
    format!(
        "give the directory to the user taskflow runs as (uid {uid}, gid {gid}): chown -R {uid}:{gid} {dir}\n\
         on Kubernetes, set the pod's securityContext.fsGroup: {gid} with fsGroupChangePolicy: OnRootMismatch \
         (the chart does), or enable the chart's volumePermissions init container for hostPath \
         provisioners such as Minikube's",
        dir = dir.display()
    )
}

/// The data directory: there, a directory, ours, writable.
pub fn data_dir(dir: &Path) -> Check {
    const NAME: &str = "data directory";
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let (uid, gid) = process_ids();
            return Check::problem(
                NAME,
                Status::Fail,
                format!("{} does not exist", dir.display()),
                format!(
                    "create it for the user taskflow runs as: mkdir -p {d} && chown {uid}:{gid} {d}\n\
                     on Kubernetes, check the volume is mounted there (kubectl describe pod) and its \
                     PersistentVolumeClaim is Bound (kubectl get pvc)",
                    d = dir.display()
                ),
            );
        }
        Err(e) => {
            return Check::problem(
                NAME,
                Status::Fail,
                format!("cannot read {}: {e}", dir.display()),
                ownership_fix(dir),
            );
        }
    };
    if !meta.is_dir() {
        return Check::problem(
            NAME,
            Status::Fail,
            format!("{} is not a directory", dir.display()),
            "point TASKFLOW_DATA_DIR at a directory",
        );
    }
    let (who, ours) = match owner_of(dir) {
        Ok(owner) => owner,
        Err(e) => {
            return Check::problem(
                NAME,
                Status::Fail,
                format!("cannot read {}: {e}", dir.display()),
                ownership_fix(dir),
            );
        }
    };
    if let Err(e) = probe_write(dir) {
        let (problem, fix) = write_failure(dir, &e);
        return Check::problem(NAME, Status::Fail, format!("{problem}; {who}"), fix);
    }
    if !ours {
        return Check::problem(
            NAME,
            Status::Fail,
            format!("wrong owner: {who}"),
            ownership_fix(dir),
        );
    }
    Check::ok(
        NAME,
        format!("{}, writable", who.replace(" is owned", " owned")),
    )
}

/// Who owns `dir` and who this process is, in words, and whether the directory is ours (see
/// `Ownership::is_ours`).
fn owner_of(dir: &Path) -> io::Result<(String, bool)> {
    let owner = Ownership::of(dir)?;
    let who = format!(
        "{} is owned by uid {} gid {} (mode {:o}); taskflow runs as uid {} gid {}",
        dir.display(),
        owner.owner_uid,
        owner.owner_gid,
        owner.mode,
        owner.process_uid,
        owner.process_gid
    );
    Ok((who, owner.is_ours()))
}

/// Says who owns `dir` when it belongs to another user (writable or not).
pub fn foreign_owner(dir: &Path) -> Option<String> {
    match owner_of(dir) {
        Ok((who, false)) => Some(who),
        _ => None,
    }
}

/// Why a directory could not be written, in words, and the fix: a full volume and a read-only
/// one are not ownership problems.
pub fn write_failure(dir: &Path, e: &io::Error) -> (String, String) {
    match e.kind() {
        io::ErrorKind::StorageFull => (
            format!("the volume under {} is full: {e}", dir.display()),
            "free space (`taskflow storage` shows what uses it; `taskflow gc` removes what \
             nothing needs) or grow the volume"
                .to_owned(),
        ),
        io::ErrorKind::ReadOnlyFilesystem => (
            format!("{} is on a read-only filesystem: {e}", dir.display()),
            "mount the volume read-write (on Kubernetes: readOnly: false on the volume mount)"
                .to_owned(),
        ),
        _ => (format!("not writable: {e}"), ownership_fix(dir)),
    }
}

/// Whether a write failed because the volume is full.
pub fn is_full(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull
}

/// Creates, syncs and removes a file: what every upload and database write needs. Each call
/// makes a file of its own (created exclusively, under a random name), so probes running at
/// the same time never remove each other's.
pub fn probe_write(dir: &Path) -> io::Result<()> {
    use std::io::Write;
    let mut file = tempfile::Builder::new()
        .prefix(".taskflow-probe-")
        .tempfile_in(dir)?;
    let written = file
        .write_all(b"probe")
        .and_then(|()| file.as_file().sync_all());
    let removed = file.close();
    written?;
    removed
}

/// The filesystem under the data directory; SQLite on a network filesystem fails.
pub fn filesystem(dir: &Path, sqlite: bool) -> Check {
    const NAME: &str = "filesystem";
    let fs = match Filesystem::of(dir) {
        Ok(fs) => fs,
        Err(e) => {
            return Check::problem(
                NAME,
                Status::Fail,
                format!("cannot inspect the filesystem of {}: {e}", dir.display()),
                "make sure the data directory exists and is mounted",
            );
        }
    };
    filesystem_verdict(fs, sqlite)
}

pub fn filesystem_verdict(fs: Filesystem, sqlite: bool) -> Check {
    const NAME: &str = "filesystem";
    let name = fs.name();
    if fs.is_network() && sqlite {
        return Check::problem(
            NAME,
            Status::Fail,
            format!("{name}: a network filesystem, and the database is SQLite"),
            format!(
                "SQLite's file locks are unreliable on {name} and the database can be corrupted: put \
                 TASKFLOW_DATA_DIR on a local disk (a ReadWriteOnce volume on Kubernetes), or use \
                 PostgreSQL (TASKFLOW_DATABASE_URL=postgres://...)"
            ),
        );
    }
    if fs.is_network() {
        return Check::ok(NAME, format!("{name} (network; attachments only)"));
    }
    Check::ok(NAME, name)
}

/// Free space on the data volume against `TASKFLOW_MIN_FREE_BYTES`; warns above 90 % used.
pub fn free_space(dir: &Path, min_free: u64) -> Check {
    const NAME: &str = "free space";
    let volume = match Volume::of(dir) {
        Ok(v) => v,
        Err(e) => {
            return Check::problem(
                NAME,
                Status::Fail,
                format!(
                    "cannot read the size of the volume under {}: {e}",
                    dir.display()
                ),
                "make sure the data directory exists and is mounted",
            );
        }
    };
    let detail = format!(
        "{} available of {} ({:.0} % used); uploads stop below {}",
        human_bytes(volume.available_bytes),
        human_bytes(volume.total_bytes),
        volume.used_fraction() * 100.0,
        human_bytes(min_free)
    );
    let fix = "free space or grow the volume: `taskflow gc` removes unreferenced files and \
               expired trash; on Kubernetes, raise the PersistentVolumeClaim's \
               spec.resources.requests.storage when its storage class allows expansion \
               (kubectl get storageclass: ALLOWVOLUMEEXPANSION)";
    if volume.available_bytes < min_free {
        Check::problem(NAME, Status::Fail, detail, fix)
    } else if volume.used_fraction() > 0.9 {
        Check::problem(NAME, Status::Warn, detail, fix)
    } else {
        Check::ok(NAME, detail)
    }
}

/// Leftovers in `tmp/` (uploads a crash interrupted); removed at start and by `gc`.
pub fn leftovers(blobs: &VolumeBlobs) -> Check {
    const NAME: &str = "tmp";
    match blobs.sweep_tmp(std::time::Duration::from_secs(60), true) {
        Ok(sweep) if sweep.files == 0 => Check::ok(NAME, "no abandoned uploads"),
        Ok(sweep) => Check::problem(
            NAME,
            Status::Warn,
            format!(
                "{} abandoned upload(s), {}",
                sweep.files,
                human_bytes(sweep.bytes)
            ),
            "`taskflow gc` removes them (and `taskflow serve` does at start)",
        ),
        Err(e) => Check::problem(
            NAME,
            Status::Fail,
            format!("cannot read {}: {e}", blobs.tmp_dir().display()),
            ownership_fix(blobs.tmp_dir()),
        ),
    }
}

/// The object store holding attachments: reachable, taking the credentials, writable (a small
/// object put and deleted), and what it holds; abandoned uploads in it are a warning.
pub async fn object_store(blobs: &Blobs) -> Check {
    const NAME: &str = "object store";
    if let Err(problem) = blobs.probe().await {
        let fix = match problem.kind {
            ProblemKind::Unreachable => {
                "check TASKFLOW_S3_ENDPOINT and that the object store is up and reachable from here"
            }
            ProblemKind::Credentials => {
                "check TASKFLOW_S3_ACCESS_KEY_ID and TASKFLOW_S3_SECRET_ACCESS_KEY (or their _FILE \
                 variants) and that the key may read, write and delete in the bucket"
            }
            ProblemKind::NotFound | ProblemKind::NoBucket => {
                "check TASKFLOW_S3_BUCKET: the bucket must exist"
            }
            ProblemKind::Failed => "see the object store's own logs",
        };
        return Check::problem(NAME, Status::Fail, problem.message, fix);
    }
    let listing = match blobs.list().await {
        Ok(listing) => listing,
        Err(e) => {
            return Check::problem(
                NAME,
                Status::Fail,
                format!("cannot list {}: {e}", blobs.describe()),
                "check that the key may list the bucket",
            );
        }
    };
    let detail = format!(
        "{}: reachable and writable, {} object(s), {}",
        blobs.describe(),
        listing.len(),
        human_bytes(listing.iter().map(|b| b.bytes).sum())
    );
    match blobs.sweep_tmp(std::time::Duration::ZERO, true).await {
        Ok(sweep) if sweep.files > 0 => Check::problem(
            NAME,
            Status::Warn,
            format!(
                "{detail}; {} unfinished upload(s), {} (in progress, or abandoned)",
                sweep.files,
                human_bytes(sweep.bytes)
            ),
            "`taskflow gc` removes uploads abandoned for longer than TASKFLOW_GC_GRACE (at least 3 minutes)",
        ),
        _ => Check::ok(NAME, detail),
    }
}

/// The database cannot be reached (connecting failed, or it stopped answering).
pub fn unreachable(detail: String) -> Check {
    Check::problem(
        "database",
        Status::Fail,
        detail,
        "check TASKFLOW_DATABASE_URL (host, port, user, password) and that the server \
         accepts connections (pg_isready -h HOST -p PORT)",
    )
}

/// Reachability, schema version and integrity of the database.
pub async fn database(store: &dyn Store) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Err(e) = store.ping().await {
        checks.push(unreachable(format!(
            "{} does not answer: {e}",
            store.backend()
        )));
        return checks;
    }
    checks.push(Check::ok(
        "database",
        format!("{} reachable", store.backend()),
    ));
    let latest = store.latest_schema_version();
    checks.push(match store.schema_version().await {
        Ok(Some(v)) if v == latest => Check::ok("schema", format!("version {v}, current")),
        Ok(Some(v)) if v > latest => Check::problem(
            "schema",
            Status::Fail,
            format!("version {v}, newer than this taskflow knows ({latest})"),
            "upgrade taskflow to the version that wrote this database",
        ),
        Ok(found) => Check::problem(
            "schema",
            Status::Fail,
            format!(
                "version {}, this taskflow expects {latest}",
                found.unwrap_or(0)
            ),
            "run `taskflow migrate` (`taskflow serve` also migrates at start)",
        ),
        Err(e) => Check::problem(
            "schema",
            Status::Fail,
            format!("cannot read the schema version: {e}"),
            "check the database user may read the _sqlx_migrations table",
        ),
    });
    checks.push(integrity(store).await);
    checks
}

pub async fn integrity(store: &dyn Store) -> Check {
    match store.integrity_check().await {
        Ok(problems) if problems.is_empty() => Check::ok("integrity", "no problems found"),
        Ok(problems) => Check::problem(
            "integrity",
            Status::Fail,
            format!(
                "the database is damaged: {}{}",
                problems
                    .iter()
                    .take(3)
                    .map(|p| p.trim())
                    .collect::<Vec<_>>()
                    .join("; "),
                match problems.len() {
                    n if n > 3 => format!(" (and {} more problems)", n - 3),
                    _ => String::new(),
                }
            ),
            "stop taskflow, keep a copy of the data directory, and restore the latest backup",
        ),
        Err(e) => Check::problem(
            "integrity",
            Status::Fail,
            format!("the database is damaged: {e}"),
            "stop taskflow, keep a copy of the data directory, and restore the latest backup",
        ),
    }
}

/// Every attachment's blob is stored.
pub async fn attachments(store: &dyn Store, blobs: &Blobs) -> Check {
    const NAME: &str = "attachments";
    let referenced = match store.referenced_blobs().await {
        Ok(r) => r,
        Err(e) => {
            return Check::problem(
                NAME,
                Status::Fail,
                format!("cannot list attachments: {e}"),
                "see the database check",
            );
        }
    };
    let stored: std::collections::HashSet<_> = match blobs.list().await {
        Ok(listing) => listing.into_iter().map(|b| b.sha256).collect(),
        Err(e) => {
            return Check::problem(
                NAME,
                Status::Fail,
                format!("cannot list {}: {e}", blobs.describe()),
                "see the checks above",
            );
        }
    };
    let missing: Vec<_> = referenced
        .iter()
        .filter(|sha| !stored.contains(*sha))
        .collect();
    if missing.is_empty() {
        Check::ok(NAME, format!("all {} file(s) present", referenced.len()))
    } else {
        Check::problem(
            NAME,
            Status::Fail,
            format!(
                "{} of {} file(s) missing from {} (first: {})",
                missing.len(),
                referenced.len(),
                blobs.describe(),
                missing[0].as_str()
            ),
            if blobs.as_volume().is_some() {
                "the attachments volume is not the one this database belongs to, or lost files: \
                 mount the right volume, or restore the data directory from a backup"
            } else {
                "the bucket or prefix is not the one this database belongs to, or lost objects: \
                 check TASKFLOW_S3_BUCKET and TASKFLOW_S3_PREFIX, or restore from a backup"
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_is_refused_on_network_filesystems_only() {
        let nfs = Filesystem { magic: 0x6969 };
        let cifs = Filesystem { magic: 0xFF53_4D42 };
        let ext4 = Filesystem { magic: 0xEF53 };
        for fs in [nfs, cifs] {
            let check = filesystem_verdict(fs, true);
            assert!(check.failed(), "{check}");
            assert!(check.fix.unwrap().contains("local disk"));
            assert!(
                !filesystem_verdict(fs, false).failed(),
                "PostgreSQL keeps only attachments there"
            );
        }
        assert!(!filesystem_verdict(ext4, true).failed());
    }
}
