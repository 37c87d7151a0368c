//! Listing a project's tasks on PostgreSQL: filters, sorts, keyset paging and GIN search.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{PgConnection, Postgres, QueryBuilder};
use taskflow_core::task::*;
use taskflow_core::*;

use super::PgStore;
use super::sql::tasks::links;
use super::sql::{Link, PROJECT_LIVE, TaskRow, db, push_filtered};

/// Tasks without a due date sort as if due on this day (matches the `tasks_by_due` index).
const NO_DUE_DATE: &str = "DATE '9999-12-31'";

/// Up to `wanted` rows of a project's live tasks under `query`, in its sort order, with their
/// `LINKS` rows; `NotFound` when the project is not live.
pub(crate) async fn page(
    store: &PgStore,
    project: ProjectId,
    query: &TaskQuery,
    wanted: i64,
) -> StoreResult<(Vec<TaskRow>, Vec<Link>)> {
    let mut conn = store.read().await?;
    let page = async {
        let rows = rows(store, &mut conn, project, query, wanted).await?;
        if rows.is_empty() {
            let live: bool = sqlx::query_scalar(PROJECT_LIVE)
                .bind(project.0)
                .fetch_one(&mut *conn)
                .await
                .map_err(db)?;
            if !live {
                return Err(StoreError::not_found("project"));
            }
        }
        let links = links(&mut conn, &rows).await?;
        Ok((rows, links))
    }
    .await;
    conn.done(page)
}

/// Up to `wanted` rows of a project's live tasks under `query`, in its sort order.
async fn rows(
    store: &PgStore,
    conn: &mut PgConnection,
    project: ProjectId,
    query: &TaskQuery,
    wanted: i64,
) -> StoreResult<Vec<TaskRow>> {
    let f = &query.filter;
    // Text search: the planner cannot estimate a prefix query, and each wrong guess is
    // costly: walking the sort index computes every task's text vector when few match;
    // collecting all matches first is slow when nearly all do, and so is counting them
    // through the GIN index, which reads a word's whole list before its first match. So a
    // search for words that ANALYZE found in a large share of tasks first tests the
    // listing's next tasks in order, enough of them to fill the page at that share. Otherwise
    // (or when that did not fill it) probe: if fewer than `SPARSE` tasks match, collect them
    // through the GIN index and order those; otherwise walk the sort order, where matches
    // are dense enough to fill a page soon.
    const SPARSE: i64 = 1000;
    let tsquery = f.text.as_ref().map(|text| {
        text.terms_with_prefix()
            .map(|(t, prefix)| format!("'{t}'{}", if prefix { ":*" } else { "" }))
            .collect::<Vec<_>>()
            .join(" & ")
    });
    if let (Some(text), Some(tsquery)) = (&f.text, &tsquery) {
        let share = store.common.share(conn, text).await?;
        if share > 0.0 {
            let window = ((2.0 * wanted as f64 / share).ceil() as i64).min(20 * wanted);
            let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM (");
            push_listing(&mut q, project, query, Search::None);
            q.push(" LIMIT ").push_bind(window);
            q.push(") w WHERE to_tsvector('simple', w.title || ' ' || w.description) @@ to_tsquery('simple', ")
                .push_bind(tsquery.clone())
                .push(")");
            push_order(&mut q, query.sort, "w");
            q.push(" LIMIT ").push_bind(wanted);
            let rows: Vec<TaskRow> = q.build_query_as().fetch_all(&mut *conn).await.map_err(db)?;
            if rows.len() as i64 == wanted {
                return Ok(rows);
            }
        }
    }
    let mut q = QueryBuilder::<Postgres>::new("");
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
    let search = match (&tsquery, sparse) {
        (Some(_), true) => Search::Collected,
        (Some(tsquery), false) => Search::Tested(tsquery.clone()),
        (None, _) => Search::None,
    };
    push_listing(&mut q, project, query, search);
    q.push(" LIMIT ").push_bind(wanted);
    q.build_query_as().fetch_all(&mut *conn).await.map_err(db)
}

/// How a listing query applies a search.
enum Search {
    /// No search, or one applied around the listing.
    None,
    /// Only tasks in the `matches` CTE.
    Collected,
    /// Tasks that match the tsquery, each tested in turn.
    Tested(String),
}

/// Pushes the listing's select, filters, search, cursor and order.
fn push_listing(
    q: &mut QueryBuilder<'static, Postgres>,
    project: ProjectId,
    query: &TaskQuery,
    search: Search,
) {
    push_filtered(q, project, &query.filter);
    match search {
        Search::Collected => {
            q.push(" AND t.id IN (SELECT id FROM matches)");
        }
        Search::Tested(tsquery) => {
            q.push(" AND to_tsvector('simple', t.title || ' ' || t.description) @@ to_tsquery('simple', ")
                .push_bind(tsquery)
                .push(")");
        }
        Search::None => {}
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
    push_order(q, query.sort, "t");
}

/// Pushes the ORDER BY of `sort` over the task columns of the relation named `of`.
fn push_order(q: &mut QueryBuilder<'static, Postgres>, sort: TaskSort, of: &str) {
    q.push(match sort {
        TaskSort::Position => format!(" ORDER BY {of}.position, {of}.id"),
        TaskSort::DueDate => format!(" ORDER BY COALESCE({of}.due_date, {NO_DUE_DATE}), {of}.id"),
        TaskSort::Priority => format!(" ORDER BY {of}.priority DESC, {of}.id DESC"),
        TaskSort::Updated => format!(" ORDER BY {of}.updated_at DESC, {of}.id DESC"),
    });
}

/// Words in at least `MIN_SHARE` of all tasks (any project), with their shares, from the
/// planner's statistics on the search index (`pg_stats.most_common_elems`, which ANALYZE and
/// autovacuum keep), read again at most every `FRESH`.
#[derive(Default)]
pub(crate) struct CommonWords(Mutex<Option<(Instant, Shares)>>);

/// Words and the share of all tasks each is in.
type Shares = Arc<Vec<(String, f32)>>;

impl CommonWords {
    const MIN_SHARE: f32 = 0.2;
    const FRESH: Duration = Duration::from_secs(60);

    /// The largest share of tasks the search can match as far as the statistics tell, or 0
    /// when one of its words is not common: every word must match, and the last may be a
    /// prefix of several.
    async fn share(&self, conn: &mut PgConnection, text: &SearchText) -> StoreResult<f64> {
        let cached = self.0.lock().expect("not poisoned").clone();
        let words = match cached {
            Some((read, words)) if read.elapsed() < Self::FRESH => words,
            _ => {
                let words: Vec<(String, f32)> = sqlx::query_as(
                    "SELECT e.word, e.share FROM pg_stats s \
                     CROSS JOIN LATERAL unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) \
                       AS e (word, share) \
                     WHERE s.schemaname = current_schema() AND s.tablename = 'tasks_search' \
                       AND e.word IS NOT NULL AND e.share >= $1",
                )
                .bind(Self::MIN_SHARE)
                .fetch_all(&mut *conn)
                .await
                .map_err(db)?;
                let words = Arc::new(words);
                *self.0.lock().expect("not poisoned") = Some((Instant::now(), words.clone()));
                words
            }
        };
        let mut share = 1.0f64;
        for (term, prefix) in text.terms_with_prefix() {
            let term_share = words
                .iter()
                .filter(|(w, _)| {
                    if prefix {
                        w.starts_with(term)
                    } else {
                        w == term
                    }
                })
                .map(|(_, s)| f64::from(*s))
                .fold(0.0, f64::max);
            share = share.min(term_share);
        }
        Ok(share)
    }
}
