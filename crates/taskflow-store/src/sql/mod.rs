//! The queries both backends share, written once.
//!
//! This directory is compiled twice: as `sqlite::sql` and as `postgres::sql`. Its code names
//! the backend only through `Store` (the backend's store type) and `d`, the backend's
//! `dialect` module, which says what differs: the driver, how a time is stored, how a list of
//! ids is bound, row locks, how a write transaction and a read snapshot start. Work that is
//! tuned per backend (task listing and search) is in the backend's `listing` module.
//!
//! Placeholders are `$1`-style, which both drivers bind; casts are written `CAST(x AS T)`,
//! which both dialects parse.

mod activity;
mod admin;
mod attachments;
mod backup;
mod comments;
mod labels;
pub(crate) mod projects;
pub(crate) mod rows;
pub(crate) mod tasks;
mod trash;
pub(crate) mod users;
mod warm;
pub(crate) mod workflow;

// What every query needs from the driver: its errors told apart, commits that finish.
mod driver;
pub(crate) use driver::{commit, db, is_unique_violation, unfinished};

use super::dialect as d;
use super::{MIGRATOR, Store, listing};

// What the backends' own modules (`listing`, `dialect`) use of the shared queries.
pub(crate) use rows::TaskRow;
pub(crate) use tasks::{Link, PROJECT_LIVE, push_filtered};
pub(crate) use warm::{ReadConn, Warm};
