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
//! An archive is written as `.<name>.partial`, fsynced, then renamed (in a bucket: one multipart
//! upload, completed at the end): an archive with the final name is always complete. Reading checks every digest and count against the manifest, which
//! comes last, before anything read is committed.

mod create;
mod format;
mod progress;
mod read;
mod restore;
mod retention;
mod shelf;

pub use create::*;
pub use format::*;
pub use progress::*;
pub use read::*;
pub use restore::*;
pub use retention::*;
pub use shelf::*;
