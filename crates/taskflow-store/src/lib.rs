//! Taskflow's stores: one set of queries (`sql/`), compiled for each backend with that
//! backend's dialect.
//!
//! - `sqlite`: the embedded default. One database file in WAL mode; all writes go through one
//!   connection and start with `BEGIN IMMEDIATE`; reads use a separate read-only pool.
//! - `postgres`: the production backend. Writes run in one transaction each on a pooled
//!   connection and lock the rows they depend on.
//!
//! Each backend module holds only what is its own: connection and pool setup, migrations, its
//! `dialect` (time type, id lists, row locks, how write transactions and snapshots start) and
//! its tuned task listing and search.

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
