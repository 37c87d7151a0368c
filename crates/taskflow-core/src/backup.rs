//! The backend-neutral form of the database, for backup archives: every table in dependency
//! order, each row a JSON object whose values have one canonical form on every backend
//! (integers, text, booleans, times as microseconds since the Unix epoch, dates as
//! `YYYY-MM-DD`). A SQLite export and a PostgreSQL export of the same content are identical.

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::{StoreError, StoreResult, ValidationError};

/// How a column's values look in the neutral form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Text,
    Bool,
    /// Microseconds since the Unix epoch, UTC.
    Time,
    /// `YYYY-MM-DD`.
    Date,
}

#[derive(Debug, PartialEq, Eq)]
pub struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    /// The columns rows are ordered by (the primary key).
    pub order_by: &'static str,
    /// A column referring to a row of the same table (a task's parent): restored in a second
    /// pass, once every row exists.
    pub self_ref: Option<&'static str>,
    /// The schema version that added the table.
    pub since: i64,
}

impl TableSpec {
    pub fn kind(&self, column: &str) -> Option<Kind> {
        self.columns
            .iter()
            .find(|(name, _)| *name == column)
            .map(|(_, kind)| *kind)
    }

    /// The columns the table has at schema `version`: those added later (see [`ADDED_COLUMNS`])
    /// only from the version that added them, those since removed (see [`REMOVED_COLUMNS`])
    /// only before the version that removed them, so an older database is exported as it is.
    pub fn columns_at(&'static self, version: i64) -> impl Iterator<Item = (&'static str, Kind)> {
        self.columns.iter().copied().filter(move |(column, _)| {
            let this =
                |(table, named, _): &&(&str, &str, i64)| (*table, *named) == (self.name, *column);
            ADDED_COLUMNS
                .iter()
                .filter(this)
                .all(|(_, _, since)| *since <= version)
                && REMOVED_COLUMNS
                    .iter()
                    .filter(this)
                    .all(|(_, _, until)| version < *until)
        })
    }

    /// Whether the table has an `id` column filled from a sequence.
    pub fn has_id(&self) -> bool {
        self.columns.first().is_some_and(|(name, _)| *name == "id")
    }
}

use Kind::*;

/// Columns added to a table after the table itself: (table, column, the schema version that
/// added it). An archive from before that version has no such column; it restores as null.
pub const ADDED_COLUMNS: &[(&str, &str, i64)] = &[
    ("tasks", "estimate", 5),
    ("tasks", "status_id", 6),
    ("users", "time_zone", 7),
];

/// Columns the database keeps itself, from other rows (by triggers): left out of archives, and
/// counted again by a restore as its rows arrive.
pub const DERIVED_COLUMNS: &[(&str, &str)] = &[("statuses", "live_tasks")];

/// Columns a later schema removed: (table, column, the schema version that removed it). Only an
/// archive from before that version has it; the migration to that version carries its values
/// over (a task's `status` text became a `status_id`, a row of the new `statuses`).
pub const REMOVED_COLUMNS: &[(&str, &str, i64)] = &[("tasks", "status", 6)];

/// Every table, parents before children.
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "users",
        columns: &[
            ("id", Int),
            ("username", Text),
            ("display_name", Text),
            ("password_hash", Text),
            ("is_admin", Bool),
            ("is_disabled", Bool),
            ("created_at", Time),
            ("updated_at", Time),
            ("time_zone", Text),
        ],
        order_by: "id",
        self_ref: None,
        since: 1,
    },
    TableSpec {
        name: "api_tokens",
        columns: &[
            ("id", Int),
            ("user_id", Int),
            ("name", Text),
            ("token_hash", Text),
            ("created_at", Time),
            ("expires_at", Time),
            ("last_used_at", Time),
        ],
        order_by: "id",
        self_ref: None,
        since: 1,
    },
    TableSpec {
        name: "sessions",
        columns: &[
            ("id", Int),
            ("user_id", Int),
            ("token_hash", Text),
            ("csrf_token", Text),
            ("created_at", Time),
            ("expires_at", Time),
            ("last_seen_at", Time),
        ],
        order_by: "id",
        self_ref: None,
        since: 2,
    },
    TableSpec {
        name: "login_failures",
        columns: &[
            ("username", Text),
            ("address", Text),
            ("failures", Int),
            ("last_failed_at", Time),
        ],
        order_by: "username, address",
        self_ref: None,
        since: 3,
    },
    TableSpec {
        name: "projects",
        columns: &[
            ("id", Int),
            ("key", Text),
            ("name", Text),
            ("description", Text),
            ("archived", Bool),
            ("next_task_number", Int),
            ("created_at", Time),
            ("updated_at", Time),
            ("deleted_at", Time),
        ],
        order_by: "id",
        self_ref: None,
        since: 1,
    },
    TableSpec {
        name: "project_members",
        columns: &[
            ("project_id", Int),
            ("user_id", Int),
            ("role", Text),
            ("added_at", Time),
        ],
        order_by: "project_id, user_id",
        self_ref: None,
        since: 1,
    },
    TableSpec {
        name: "labels",
        columns: &[
            ("id", Int),
            ("project_id", Int),
            ("name", Text),
            ("colour", Text),
        ],
        order_by: "id",
        self_ref: None,
        since: 1,
    },
    TableSpec {
        name: "statuses",
        columns: &[
            ("id", Int),
            ("project_id", Int),
            ("name", Text),
            ("name_key", Text),
            ("colour", Text),
            ("category", Text),
            ("position", Int),
            ("wip_limit", Int),
        ],
        order_by: "id",
        self_ref: None,
        since: 6,
    },
    TableSpec {
        name: "tasks",
        columns: &[
            ("id", Int),
            ("project_id", Int),
            ("number", Int),
            ("title", Text),
            ("description", Text),
            ("status", Text),
            ("status_id", Int),
            ("position", Int),
            ("priority", Int),
            ("due_date", Date),
            ("estimate", Int),
            ("parent_id", Int),
            ("created_by", Int),
            ("created_at", Time),
            ("updated_at", Time),
            ("version", Int),
            ("deleted_at", Time),
        ],
        order_by: "id",
        self_ref: Some("parent_id"),
        since: 1,
    },
    TableSpec {
        name: "task_assignees",
        columns: &[("task_id", Int), ("user_id", Int)],
        order_by: "task_id, user_id",
        self_ref: None,
        since: 1,
    },
    TableSpec {
        name: "task_labels",
        columns: &[("task_id", Int), ("label_id", Int)],
        order_by: "task_id, label_id",
        self_ref: None,
        since: 1,
    },
    TableSpec {
        name: "comments",
        columns: &[
            ("id", Int),
            ("task_id", Int),
            ("author_id", Int),
            ("body", Text),
            ("created_at", Time),
            ("updated_at", Time),
            ("deleted_at", Time),
        ],
        order_by: "id",
        self_ref: None,
        since: 1,
    },
    TableSpec {
        name: "attachments",
        columns: &[
            ("id", Int),
            ("task_id", Int),
            ("file_name", Text),
            ("media_type", Text),
            ("size_bytes", Int),
            ("sha256", Text),
            ("uploaded_by", Int),
            ("created_at", Time),
            ("deleted_at", Time),
        ],
        order_by: "id",
        self_ref: None,
        since: 1,
    },
    TableSpec {
        name: "activity",
        columns: &[
            ("id", Int),
            ("project_id", Int),
            ("task_id", Int),
            ("actor_id", Int),
            ("at", Time),
            ("kind", Text),
            ("field", Text),
            ("old_value", Text),
            ("new_value", Text),
        ],
        order_by: "id",
        self_ref: None,
        since: 1,
    },
    TableSpec {
        name: "server_secrets",
        columns: &[("name", Text), ("secret", Text), ("created_at", Time)],
        order_by: "name",
        self_ref: None,
        since: 4,
    },
    TableSpec {
        name: "idempotency_keys",
        columns: &[
            ("user_id", Int),
            ("key", Text),
            ("fingerprint", Text),
            ("kind", Text),
            ("resource_id", Int),
            ("created_at", Time),
        ],
        order_by: "user_id, key",
        self_ref: None,
        since: 4,
    },
];

pub fn table(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().find(|t| t.name == name)
}

/// The tables a database at `schema_version` has.
pub fn tables_at(schema_version: i64) -> impl Iterator<Item = &'static TableSpec> {
    TABLES.iter().filter(move |t| t.since <= schema_version)
}

/// One row in the neutral form.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub table: &'static TableSpec,
    pub values: Map<String, Value>,
}

impl Record {
    /// Checks every value against its column: known columns only, each of its kind or null.
    pub fn check(&self) -> Result<(), ValidationError> {
        for (column, value) in &self.values {
            let Some(kind) = self.table.kind(column) else {
                return Err(ValidationError::new(
                    column.clone(),
                    format!("{} has no column {column}", self.table.name),
                ));
            };
            let fits = match (kind, value) {
                (_, Value::Null) => true,
                (Int | Time, Value::Number(n)) => n.is_i64(),
                (Text, Value::String(_)) => true,
                (Bool, Value::Bool(_)) => true,
                (Date, Value::String(s)) => {
                    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
                        .is_ok()
                }
                _ => false,
            };
            if !fits {
                return Err(ValidationError::new(
                    column.clone(),
                    format!("{}.{column}: {value} is not a {kind:?}", self.table.name),
                ));
            }
        }
        Ok(())
    }
}

/// What a restore receives: rows, then `Commit` once the archive has been checked whole.
/// Anything else — the channel closing early — rolls the restore back.
#[derive(Debug)]
pub enum ImportItem {
    Record(Record),
    Commit,
}

/// Rows restored per table.
pub type ImportCounts = Vec<(&'static str, u64)>;

/// What a backend does to restore rows, inside its own transaction; `import_rows` decides what
/// to do and when.
#[async_trait]
pub trait ImportTarget: Send {
    /// Deletes every row of `table`.
    async fn clear(&mut self, table: &'static TableSpec) -> StoreResult<()>;
    /// Inserts one row: these columns (in the table's order) with these values.
    async fn insert(
        &mut self,
        table: &'static TableSpec,
        values: &[(&'static str, Kind, &Value)],
    ) -> StoreResult<()>;
    /// Sets `column` of the row with this `id` to `target`.
    async fn link(
        &mut self,
        table: &'static TableSpec,
        column: &'static str,
        id: i64,
        target: i64,
    ) -> StoreResult<()>;
}

/// Restores the rows `items` brings into a database at `schema_version`: refuses one that
/// `has_data` unless `replace` (then clears it first), checks every row, inserts it, sets self
/// references once every row exists, and returns when `Commit` arrives — the caller commits.
/// If the channel closes first it fails, and the caller's transaction rolls back.
pub async fn import_rows(
    items: &mut mpsc::Receiver<ImportItem>,
    schema_version: i64,
    has_data: bool,
    replace: bool,
    target: &mut dyn ImportTarget,
) -> StoreResult<ImportCounts> {
    if has_data && !replace {
        return Err(StoreError::Conflict(
            "the database is not empty; restoring would replace everything in it".to_owned(),
        ));
    }
    let tables: Vec<&'static TableSpec> = tables_at(schema_version).collect();
    if has_data {
        for table in tables.iter().rev() {
            target.clear(table).await?;
        }
    }
    let mut counts: ImportCounts = tables.iter().map(|t| (t.name, 0)).collect();
    // Rows that refer to a row of their own table, set once every row exists.
    let mut links: Vec<(&'static TableSpec, &'static str, i64, i64)> = Vec::new();
    loop {
        let record = match items.recv().await {
            Some(ImportItem::Record(record)) => record,
            Some(ImportItem::Commit) => break,
            None => {
                return Err(StoreError::Backend(
                    "the archive ended before it was checked whole; nothing was restored".into(),
                ));
            }
        };
        let table = record.table;
        let Some(slot) = counts.iter_mut().find(|(name, _)| *name == table.name) else {
            return Err(StoreError::Invalid(ValidationError::new(
                "table",
                format!(
                    "{} does not exist at schema version {schema_version}",
                    table.name
                ),
            )));
        };
        record.check().map_err(StoreError::Invalid)?;
        let mut values = Vec::new();
        for (name, kind) in table.columns_at(schema_version) {
            let Some(value) = record.values.get(name) else {
                continue;
            };
            if Some(name) == table.self_ref
                && let (Some(id), Some(to)) = (
                    record.values.get("id").and_then(Value::as_i64),
                    value.as_i64(),
                )
            {
                links.push((table, name, id, to));
                values.push((name, kind, &Value::Null));
                continue;
            }
            values.push((name, kind, value));
        }
        target.insert(table, &values).await?;
        slot.1 += 1;
    }
    for (table, column, id, to) in links {
        target.link(table, column, id, to).await?;
    }
    Ok(counts)
}
