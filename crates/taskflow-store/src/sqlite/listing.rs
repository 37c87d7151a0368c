//! Listing a project's tasks on SQLite: filters, sorts, keyset paging and FTS5 search.
//!
//! A page is read on a direct connection (see `direct` and `page`): its rows are read in place,
//! where sqlx's worker would copy each value of each row and send the row across threads; a
//! listing of fifty tasks spent most of its time doing that.

use std::fmt::Write;

use rusqlite::types::Value;
use rusqlite::{Connection, named_params, params, params_from_iter};
use taskflow_core::task::*;
use taskflow_core::*;

use super::SqliteStore;
use super::direct::{begin, commit, links, task};
use super::sql::tasks::Sink;
use super::sql::{Link, PROJECT_LIVE, TaskRow, push_filtered};

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

/// Up to `wanted` rows of a project's live tasks under `query`, in its sort order, with their
/// `LINKS` rows; `NotFound` when the project is not live.
///
/// An unfiltered page reads at most `wanted` entries of the sort key's index, well under a
/// millisecond: it is read where the request runs, as `direct`'s lookups are, which measured
/// 15 % more pages a second than a hop to a blocking thread and a quarter less memory at peak
/// (each blocking thread grows an allocator arena of its own). A filter or a search can read
/// far more of a large project before the page fills, so those go to a blocking thread and
/// leave the runtime's threads to other requests.
pub(crate) async fn page(
    store: &SqliteStore,
    project: ProjectId,
    query: &TaskQuery,
    wanted: i64,
) -> StoreResult<(Vec<TaskRow>, Vec<Link>)> {
    let f = &query.filter;
    let unfiltered = f.statuses.is_empty()
        && f.assignee.is_none()
        && f.label.is_none()
        && f.due_before.is_none()
        && f.due_after.is_none()
        && f.parent.is_none()
        && f.text.is_none();
    let found = if unfiltered {
        store
            .direct
            .read(|c| read_page(c, project, query, wanted))?
    } else {
        let query = query.clone();
        store
            .direct
            .read_blocking(move |c| read_page(c, project, &query, wanted))
            .await?
    };
    found.ok_or_else(|| StoreError::not_found("project"))
}

/// `page`'s reads, in one read transaction; None when the project is not live.
///
/// The page's rows and their assignees and labels come from one snapshot (a write committed
/// between two transactions could give a page whose labels are newer than its rows), and the
/// WAL's read lock is taken and released once: each is a system call and a process-wide mutex
/// that the runtime's threads contend for. A failed read closes its connection (`Direct::read`),
/// which ends the transaction.
fn read_page(
    c: &Connection,
    project: ProjectId,
    query: &TaskQuery,
    wanted: i64,
) -> rusqlite::Result<Option<(Vec<TaskRow>, Vec<Link>)>> {
    // Inside a request's snapshot (`direct::Snapshot`) the transaction is already open.
    let own = c.is_autocommit();
    if own {
        begin(c)?;
    }
    let page = page_in_transaction(c, project, query, wanted)?;
    if own {
        commit(c)?;
    }
    Ok(page)
}

fn page_in_transaction(
    c: &Connection,
    project: ProjectId,
    query: &TaskQuery,
    wanted: i64,
) -> rusqlite::Result<Option<(Vec<TaskRow>, Vec<Link>)>> {
    let rows = rows(c, project, query, wanted)?;
    if rows.is_empty() {
        let live: bool = c
            .prepare_cached(PROJECT_LIVE)?
            .query_row(named_params! {"$1": project.0}, |r| r.get(0))?;
        if !live {
            return Ok(None);
        }
    }
    let links = links(c, rows.iter().map(|r| r.id))?;
    Ok(Some((rows, links)))
}

/// Up to `wanted` rows of a project's live tasks under `query`, in its sort order.
fn rows(
    c: &Connection,
    project: ProjectId,
    query: &TaskQuery,
    wanted: i64,
) -> rusqlite::Result<Vec<TaskRow>> {
    let Some(text) = &query.filter.text else {
        return collect(c, project, query, Text::None, wanted);
    };
    let Some((expression, matches)) = completed(c, text)? else {
        return collect(c, project, query, Text::Collect(prefix_query(text)), wanted);
    };
    if matches >= SPARSE
        && let Some(rows) = walk(c, project, query, &expression, wanted)?
    {
        return Ok(rows);
    }
    collect(c, project, query, Text::Collect(expression), wanted)
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
fn completed(c: &Connection, text: &SearchText) -> rusqlite::Result<Option<(String, i64)>> {
    let terms = text.terms();
    let (last, whole) = terms.split_last().expect("a search has a word");
    if !last.is_ascii() {
        return Ok(None);
    }
    let whole: String = whole.iter().map(|t| quoted(t) + " AND ").collect();
    // Every indexed word that begins with `last` sorts in [last, last + U+10FFFF); the next
    // after `word` is at or above `word` + U+0001, which no indexed word contains. A word
    // nothing begins with stays itself, and matches nothing, as it should.
    let (expression, completions, matches): (String, i64, i64) = c
        .prepare_cached(
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
        )?
        .query_row(
            params![
                last,
                format!("{last}\u{10FFFF}"),
                COMPLETIONS as i64,
                whole,
                SPARSE
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
    Ok((completions <= COMPLETIONS as i64).then_some((expression, matches)))
}

/// A word as an FTS5 string.
fn quoted(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// Up to `wanted` matches of `expression`, found by walking the listing in its order and
/// testing each task against the index, or None when `WALK` tasks were tested first.
fn walk(
    c: &Connection,
    project: ProjectId,
    query: &TaskQuery,
    expression: &str,
    wanted: i64,
) -> rusqlite::Result<Option<Vec<TaskRow>>> {
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
        let q = list_query(
            project,
            query,
            keyset,
            budget,
            Text::Test(expression.to_owned()),
        );
        let mut statement = c.prepare_cached(&q.sql)?;
        let mut rows = statement.query(params_from_iter(&q.values))?;
        let mut tested = 0;
        while let Some(row) = rows.next()? {
            tested += 1;
            if row.get::<_, bool>("hit")? {
                found.push(task(row)?);
                if found.len() as i64 == wanted {
                    return Ok(Some(found));
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
fn collect(
    c: &Connection,
    project: ProjectId,
    query: &TaskQuery,
    text: Text,
    wanted: i64,
) -> rusqlite::Result<Vec<TaskRow>> {
    let fetch = |q: Statement| -> rusqlite::Result<Vec<TaskRow>> {
        c.prepare_cached(&q.sql)?
            .query_map(params_from_iter(&q.values), task)?
            .collect()
    };
    // One more than a page tells whether there is a next page. After a cursor, the rows
    // sharing its sort key come first, then the rows with later keys: two index range scans.
    let Some(cursor) = query.after else {
        return fetch(list_query(project, query, None, wanted, text));
    };
    let same = Some((Keyset::SameKey, cursor));
    let mut rows = fetch(list_query(project, query, same, wanted, text.clone()))?;
    let missing = wanted - rows.len() as i64;
    if missing > 0 {
        let later = Some((Keyset::LaterKey, cursor));
        rows.extend(fetch(list_query(project, query, later, missing, text))?);
    }
    Ok(rows)
}

/// A statement for a direct connection: its SQL, with `?N` placeholders, and their values.
#[derive(Default)]
pub(crate) struct Statement {
    sql: String,
    values: Vec<Value>,
}

impl Statement {
    fn bind(&mut self, value: Value) -> &mut Self {
        self.values.push(value);
        write!(self.sql, "?{}", self.values.len()).expect("writing to a string");
        self
    }
}

impl Sink for Statement {
    fn sql(&mut self, text: &str) -> &mut Self {
        self.sql.push_str(text);
        self
    }
    fn int(&mut self, value: i64) -> &mut Self {
        self.bind(Value::Integer(value))
    }
    fn text(&mut self, value: String) -> &mut Self {
        self.bind(Value::Text(value))
    }
    /// As sqlx and the migrations store a date: `2026-12-31`.
    fn date(&mut self, value: time::Date) -> &mut Self {
        self.bind(Value::Text(value.to_string()))
    }
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
) -> Statement {
    let f = &query.filter;
    let mut q = Statement::default();
    let tested = matches!(text, Text::Test(_));
    match text {
        Text::None => push_filtered(&mut q, project, f),
        Text::Collect(expression) => {
            push_filtered(&mut q, project, f);
            q.sql(" AND t.id IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ")
                .text(expression)
                .sql(")");
        }
        Text::Test(expression) => {
            // Each task is tested as it is read, in order (FTS5 answers a match on one rowid
            // by seeking each word's list): the listing is a co-routine the test reads row by
            // row, so a walk that stops early tests no more tasks, even where the planner
            // sorts a small project's tasks instead of reading an index in order.
            q.sql("SELECT w.*, EXISTS (SELECT 1 FROM tasks_fts WHERE tasks_fts MATCH ")
                .text(expression)
                .sql(" AND rowid = w.id) AS hit FROM (");
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
            Keyset::SameKey => q.sql(&format!(" AND {key} = ")),
            Keyset::LaterKey => q.sql(&format!(" AND {key} {later} ")),
        };
        match cursor.key {
            CursorKey::Position(p) => q.int(p),
            CursorKey::DueDate(Some(d)) => q.date(d),
            CursorKey::DueDate(None) => q.sql(NO_DUE_DATE),
            CursorKey::Priority(p) => q.int(p.rank().into()),
            CursorKey::Updated(u) => q.int(u.unix_micros()),
        };
        if let Keyset::SameKey = keyset {
            q.sql(&format!(" AND t.id {later} ")).int(cursor.id.0);
            q.sql(&format!(" ORDER BY t.id {dir}"));
        }
    }
    if !matches!(keyset, Some((Keyset::SameKey, _))) {
        q.sql(&format!(" ORDER BY {key} {dir}, t.id {dir}"));
    }
    q.sql(" LIMIT ").int(limit);
    if tested {
        q.sql(") w");
    }
    q
}
