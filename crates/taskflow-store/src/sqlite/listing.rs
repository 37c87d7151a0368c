//! Listing a project's tasks on SQLite: filters, sorts, keyset paging and FTS5 search.

use futures_util::TryStreamExt;
use sqlx::{FromRow, QueryBuilder, Row, Sqlite, SqliteConnection};
use taskflow_core::task::*;
use taskflow_core::*;

use super::sql::{TaskRow, db, push_filtered};

/// Tasks without a due date sort as if due on this day (matches the `tasks_by_due` index).
const NO_DUE_DATE: &str = "'9999-12-31'";

/// A search matching fewer tasks than this (in all projects) collects its matches and orders
/// them; one matching more walks the listing's order, testing each task, until a page is full.
/// Collecting costs about 0.3 ms per thousand matches, a walk that fills a page about 1.5 ms.
const SPARSE: i64 = 4000;
/// How many tasks such a walk tests before it gives up and collects the matches after all
/// (the words are common elsewhere but rare under this listing's filters).
const WALK: i64 = 1000;
/// A last, unfinished word is completed to at most this many indexed words for a walk; a
/// prefix with more completions is searched as a prefix, which only collecting can do
/// quickly: FTS5 builds a prefix's whole match list on every test of one task.
const COMPLETIONS: usize = 16;

/// Up to `wanted` rows of a project's live tasks under `query`, in its sort order.
pub(crate) async fn rows(
    _store: &super::SqliteStore,
    conn: &mut SqliteConnection,
    project: ProjectId,
    query: &TaskQuery,
    wanted: i64,
) -> StoreResult<Vec<TaskRow>> {
    let Some(text) = &query.filter.text else {
        return collect(conn, project, query, Text::None, wanted).await;
    };
    let Some((expression, matches)) = completed(conn, text).await? else {
        return collect(
            conn,
            project,
            query,
            Text::Collect(prefix_query(text)),
            wanted,
        )
        .await;
    };
    if matches >= SPARSE
        && let Some(rows) = walk(conn, project, query, &expression, wanted).await?
    {
        return Ok(rows);
    }
    collect(conn, project, query, Text::Collect(expression), wanted).await
}

/// The search as an FTS5 query whose last word, if unfinished, is a prefix.
fn prefix_query(text: &SearchText) -> String {
    text.terms_with_prefix()
        .map(|(t, prefix)| format!("{}{}", quoted(t), if prefix { "*" } else { "" }))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The search as an FTS5 query without a prefix, and how many tasks (in any project, up to
/// `SPARSE`) it matches, in one statement: the last word, which may be unfinished, becomes
/// the indexed words it begins, read from `tasks_fts_terms` one seek each. None when it
/// begins more than `COMPLETIONS` of them, or is not plain ASCII (the index folds other
/// letters in ways not repeated here).
async fn completed(
    conn: &mut SqliteConnection,
    text: &SearchText,
) -> StoreResult<Option<(String, i64)>> {
    let terms = text.terms();
    let (last, whole) = terms.split_last().expect("a search has a word");
    if !last.is_ascii() {
        return Ok(None);
    }
    let whole: String = whole.iter().map(|t| quoted(t) + " AND ").collect();
    // Every indexed word that begins with `last` sorts in [last, last + U+10FFFF); the next
    // after `word` is at or above `word` + U+0001, which no indexed word contains. A word
    // nothing begins with stays itself, and matches nothing, as it should.
    let (expression, completions, matches): (String, i64, i64) = sqlx::query_as(
        "WITH RECURSIVE words (word, n) AS ( \
             SELECT (SELECT term FROM temp.tasks_fts_terms WHERE term >= ?1 AND term < ?2 LIMIT 1), 1 \
             UNION ALL \
             SELECT (SELECT term FROM temp.tasks_fts_terms \
                     WHERE term >= words.word || char(1) AND term < ?2 LIMIT 1), n + 1 \
             FROM words WHERE words.word IS NOT NULL AND words.n <= ?3), \
         found (expression, n) AS ( \
             SELECT ?4 || CASE count(*) WHEN 0 THEN '\"' || ?1 || '\"' \
                 ELSE '(' || group_concat('\"' || replace(word, '\"', '\"\"') || '\"', ' OR ') || ')' END, \
                 count(*) \
             FROM words WHERE word IS NOT NULL) \
         SELECT expression, n, \
             (SELECT count(*) FROM (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH found.expression LIMIT ?5)) \
         FROM found",
    )
    .bind(last)
    .bind(format!("{last}\u{10FFFF}"))
    .bind(COMPLETIONS as i64)
    .bind(whole)
    .bind(SPARSE)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    Ok((completions <= COMPLETIONS as i64).then_some((expression, matches)))
}

/// A word as an FTS5 string.
fn quoted(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// Up to `wanted` matches of `expression`, found by walking the listing in its order and
/// testing each task against the index, or None when `WALK` tasks were tested first.
async fn walk(
    conn: &mut SqliteConnection,
    project: ProjectId,
    query: &TaskQuery,
    expression: &str,
    wanted: i64,
) -> StoreResult<Option<Vec<TaskRow>>> {
    let phases = match query.after {
        None => vec![None],
        Some(cursor) => vec![
            Some((Keyset::SameKey, cursor)),
            Some((Keyset::LaterKey, cursor)),
        ],
    };
    let mut budget = WALK;
    let mut found = Vec::new();
    for keyset in phases {
        let mut q = list_query(
            project,
            query,
            keyset,
            budget,
            Text::Test(expression.to_owned()),
        )?;
        let mut tested = 0;
        {
            let mut stream = q.build().fetch(&mut *conn);
            while let Some(row) = stream.try_next().await.map_err(db)? {
                tested += 1;
                if row.try_get::<bool, _>("hit").map_err(db)? {
                    found.push(TaskRow::from_row(&row).map_err(db)?);
                    if found.len() as i64 == wanted {
                        return Ok(Some(found));
                    }
                }
            }
        }
        if tested == budget {
            return Ok(None);
        }
        budget -= tested;
    }
    // The listing ended before the page filled: these are all its matches.
    Ok(Some(found))
}

/// Up to `wanted` rows, read in the listing's order; a search is tested by collecting all its
/// matches first.
async fn collect(
    conn: &mut SqliteConnection,
    project: ProjectId,
    query: &TaskQuery,
    text: Text,
    wanted: i64,
) -> StoreResult<Vec<TaskRow>> {
    // One more than a page tells whether there is a next page. After a cursor, the rows
    // sharing its sort key come first, then the rows with later keys: two index range scans.
    let rows: Vec<TaskRow> = match query.after {
        None => list_query(project, query, None, wanted, text)?
            .build_query_as()
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?,
        Some(cursor) => {
            let mut rows: Vec<TaskRow> = list_query(
                project,
                query,
                Some((Keyset::SameKey, cursor)),
                wanted,
                text.clone(),
            )?
            .build_query_as()
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
            let missing = wanted - rows.len() as i64;
            if missing > 0 {
                let after: Vec<TaskRow> = list_query(
                    project,
                    query,
                    Some((Keyset::LaterKey, cursor)),
                    missing,
                    text,
                )?
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

/// How a listing query applies a search.
#[derive(Clone)]
enum Text {
    /// No search.
    None,
    /// Only tasks among the FTS5 query's matches.
    Collect(String),
    /// Every task, each with whether it matches the FTS5 query (column `hit`).
    Test(String),
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
    text: Text,
) -> StoreResult<QueryBuilder<'static, Sqlite>> {
    let f = &query.filter;
    let mut q = QueryBuilder::<Sqlite>::new("");
    let tested = matches!(text, Text::Test(_));
    match text {
        Text::None => push_filtered(&mut q, project, f),
        Text::Collect(expression) => {
            push_filtered(&mut q, project, f);
            q.push(" AND t.id IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ")
                .push_bind(expression)
                .push(")");
        }
        Text::Test(expression) => {
            // Each task is tested as it is read, in order (FTS5 answers a match on one rowid
            // by seeking each word's list): the listing is a co-routine the test reads row by
            // row, so a walk that stops early tests no more tasks, even where the planner
            // sorts a small project's tasks instead of reading an index in order.
            q.push("SELECT w.*, EXISTS (SELECT 1 FROM tasks_fts WHERE tasks_fts MATCH ")
                .push_bind(expression)
                .push(" AND rowid = w.id) AS hit FROM (");
            push_filtered(&mut q, project, f);
        }
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
    if tested {
        q.push(") w");
    }
    Ok(q)
}
