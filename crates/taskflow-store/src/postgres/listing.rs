//! Listing a project's tasks on PostgreSQL: filters, sorts, keyset paging and GIN search.

use sqlx::{PgConnection, Postgres, QueryBuilder};
use taskflow_core::task::*;
use taskflow_core::*;

use super::sql::{TaskRow, db, push_filtered};

/// Tasks without a due date sort as if due on this day (matches the `tasks_by_due` index).
const NO_DUE_DATE: &str = "DATE '9999-12-31'";

/// Up to `wanted` rows of a project's live tasks under `query`, in its sort order.
pub(crate) async fn rows(
    conn: &mut PgConnection,
    project: ProjectId,
    query: &TaskQuery,
    wanted: i64,
) -> StoreResult<Vec<TaskRow>> {
    let f = &query.filter;
    let mut q = QueryBuilder::<Postgres>::new("");
    // Text search: the planner cannot estimate a prefix query, and each wrong guess is
    // costly: walking the sort index computes every task's text vector when few match;
    // collecting all matches first is slow when nearly all do. So probe: if fewer than
    // `SPARSE` tasks match, collect them through the GIN index and order those; otherwise
    // walk the sort order, where matches are dense enough to fill a page quickly.
    const SPARSE: i64 = 1000;
    let tsquery = f.text.as_ref().map(|text| {
        text.terms_with_prefix()
            .map(|(t, prefix)| format!("'{t}'{}", if prefix { ":*" } else { "" }))
            .collect::<Vec<_>>()
            .join(" & ")
    });
    let mut sparse = false;
    if let Some(tsquery) = &tsquery {
        let matches: i64 = sqlx::query_scalar(
                "WITH m AS MATERIALIZED (SELECT id FROM tasks WHERE deleted_at IS NULL AND project_id = $1 \
                   AND to_tsvector('simple', title || ' ' || description) @@ to_tsquery('simple', $2) LIMIT $3) \
                 SELECT count(*) FROM m",
            )
            .bind(project.0)
            .bind(tsquery)
            .bind(SPARSE)
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        sparse = matches < SPARSE;
        if sparse {
            q.push(
                    "WITH matches AS MATERIALIZED (SELECT id FROM tasks WHERE deleted_at IS NULL AND project_id = ",
                )
                .push_bind(project.0)
                .push(" AND to_tsvector('simple', title || ' ' || description) @@ to_tsquery('simple', ")
                .push_bind(tsquery.clone())
                .push(")) ");
        }
    }
    push_filtered(&mut q, project, f);
    match (&tsquery, sparse) {
        (Some(_), true) => {
            q.push(" AND t.id IN (SELECT id FROM matches)");
        }
        (Some(tsquery), false) => {
            q.push(" AND to_tsvector('simple', t.title || ' ' || t.description) @@ to_tsquery('simple', ")
                    .push_bind(tsquery.clone())
                    .push(")");
        }
        (None, _) => {}
    }
    let due_key = format!("COALESCE(t.due_date, {NO_DUE_DATE})");
    if let Some(cursor) = query.after {
        let id = cursor.id.0;
        match cursor.key {
            CursorKey::Position(p) => {
                q.push(" AND (t.position, t.id) > (")
                    .push_bind(p)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
            CursorKey::DueDate(d) => {
                q.push(format!(" AND ({due_key}, t.id) > (COALESCE("))
                    .push_bind(d)
                    .push(format!("::date, {NO_DUE_DATE}), "))
                    .push_bind(id)
                    .push(")");
            }
            CursorKey::Priority(p) => {
                q.push(" AND (t.priority, t.id) < (")
                    .push_bind(p.rank())
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
            CursorKey::Updated(u) => {
                q.push(" AND (t.updated_at, t.id) < (")
                    .push_bind(u.datetime())
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
        }
    }
    q.push(match query.sort {
        TaskSort::Position => " ORDER BY t.position, t.id".to_owned(),
        TaskSort::DueDate => format!(" ORDER BY {due_key}, t.id"),
        TaskSort::Priority => " ORDER BY t.priority DESC, t.id DESC".to_owned(),
        TaskSort::Updated => " ORDER BY t.updated_at DESC, t.id DESC".to_owned(),
    });
    q.push(" LIMIT ").push_bind(wanted);
    q.build_query_as().fetch_all(&mut *conn).await.map_err(db)
}
