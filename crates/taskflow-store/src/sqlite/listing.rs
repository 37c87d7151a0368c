//! Listing a project's tasks on SQLite: filters, sorts, keyset paging and FTS5 search.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use taskflow_core::task::*;
use taskflow_core::*;

use super::sql::{TaskRow, db, push_filtered};

/// Tasks without a due date sort as if due on this day (matches the `tasks_by_due` index).
const NO_DUE_DATE: &str = "'9999-12-31'";

/// Up to `wanted` rows of a project's live tasks under `query`, in its sort order.
pub(crate) async fn rows(
    conn: &mut SqliteConnection,
    project: ProjectId,
    query: &TaskQuery,
    wanted: i64,
) -> StoreResult<Vec<TaskRow>> {
    // One more than a page tells whether there is a next page. After a cursor, the rows
    // sharing its sort key come first, then the rows with later keys: two index range scans.
    let rows: Vec<TaskRow> = match query.after {
        None => list_query(project, query, None, wanted)?
            .build_query_as()
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?,
        Some(cursor) => {
            let mut rows: Vec<TaskRow> =
                list_query(project, query, Some((Keyset::SameKey, cursor)), wanted)?
                    .build_query_as()
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db)?;
            let missing = wanted - rows.len() as i64;
            if missing > 0 {
                let after: Vec<TaskRow> =
                    list_query(project, query, Some((Keyset::LaterKey, cursor)), missing)?
                        .build_query_as()
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(db)?;
                rows.extend(after);
            }
            rows
        }
    };
    Ok(rows)
}

/// Which rows after a cursor a listing query reads.
#[derive(Clone, Copy)]
enum Keyset {
    /// Rows with the cursor's sort key and a later id.
    SameKey,
    /// Rows with a later sort key.
    LaterKey,
}

/// The listing query for a project's live tasks under `query`'s filters, in its sort order.
fn list_query(
    project: ProjectId,
    query: &TaskQuery,
    keyset: Option<(Keyset, Cursor)>,
    limit: i64,
) -> StoreResult<QueryBuilder<'static, Sqlite>> {
    let f = &query.filter;
    let mut q = QueryBuilder::<Sqlite>::new("");
    push_filtered(&mut q, project, f);
    if let Some(text) = &f.text {
        // Each term is letters and digits only, so quoting it is safe: "term"* is a prefix query.
        let fts = text
            .terms_with_prefix()
            .map(|(t, prefix)| format!("\"{t}\"{}", if prefix { "*" } else { "" }))
            .collect::<Vec<_>>()
            .join(" ");
        q.push(" AND t.id IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ")
            .push_bind(fts)
            .push(")");
    }
    let due_key = format!("coalesce(t.due_date, {NO_DUE_DATE})");
    // (column, ascending?) of the sort key.
    let (key, ascending) = match query.sort {
        TaskSort::Position => ("t.position".to_owned(), true),
        TaskSort::DueDate => (due_key.clone(), true),
        TaskSort::Priority => ("t.priority".to_owned(), false),
        TaskSort::Updated => ("t.updated_at".to_owned(), false),
    };
    let (later, dir) = if ascending {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    if let Some((keyset, cursor)) = keyset {
        match keyset {
            Keyset::SameKey => q.push(format!(" AND {key} = ")),
            Keyset::LaterKey => q.push(format!(" AND {key} {later} ")),
        };
        match cursor.key {
            CursorKey::Position(p) => q.push_bind(p),
            CursorKey::DueDate(d) => q
                .push("coalesce(")
                .push_bind(d)
                .push(format!(", {NO_DUE_DATE})")),
            CursorKey::Priority(p) => q.push_bind(p.rank()),
            CursorKey::Updated(u) => q.push_bind(u.unix_micros()),
        };
        if let Keyset::SameKey = keyset {
            q.push(format!(" AND t.id {later} ")).push_bind(cursor.id.0);
            q.push(format!(" ORDER BY t.id {dir}"));
        }
    }
    if !matches!(keyset, Some((Keyset::SameKey, _))) {
        q.push(format!(" ORDER BY {key} {dir}, t.id {dir}"));
    }
    q.push(" LIMIT ").push_bind(limit);
    Ok(q)
}
