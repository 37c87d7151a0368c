//! What operators run against a Taskflow installation: garbage collection, the storage report
//! and the health checks behind `taskflow doctor` and the server's start-up. Shared by the
//! command line and the server.

pub mod backup;
pub mod checks;
pub mod gc;
pub mod storage;

use taskflow_core::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An archive or a target that a backup command will not touch, with the reason.
    #[error("{0}")]
    Refused(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// The blob store (the volume or an object store) failed.
    #[error("{context}: {source}")]
    Blobs {
        context: String,
        source: taskflow_blobs::BlobError,
    },
}

impl OpsError {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    pub fn blobs(context: impl Into<String>) -> impl FnOnce(taskflow_blobs::BlobError) -> Self {
        let context = context.into();
        move |source| Self::Blobs { context, source }
    }
}

/// Runs blocking filesystem work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    context: &str,
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, OpsError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|r| r)
        .map_err(OpsError::io(context))
}

/// `1.5 GiB`, `312 KiB`, `17 B`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
