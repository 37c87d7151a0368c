//! The database floor: the statements one request issues, captured while Taskflow answers it,
//! then replayed without Taskflow on the same database — by pgbench on PostgreSQL; on SQLite
//! with the store's own connection settings, through the driver the store uses for them (a
//! request that only reads through rusqlite, as the store's direct reads; one that writes
//! through sqlx), each request's statements in one transaction.
//!
//! Capture. PostgreSQL: a store whose connections set `log_statement = all` answers the request
//! in-process; the statements and their parameters are read back from the server's log.
//! SQLite: every connection this process opens gets a trace hook (`sqlite3_auto_extension` +
//! `sqlite3_trace_v2`) that records each statement's text and, from its expanded form, the
//! values bound to it.
//!
//! One rule keeps replayed creates valid: in the statement that inserts the task, a parameter
//! equal to the task number the captured create was given is taken from the number
//! allocation's `RETURNING … AS number` in the same replay, and after it a parameter equal to
//! the captured task's id is taken from that insert's `RETURNING id` (pgbench `\gset`), so every
//! replayed create takes a fresh number and writes about its own task, as Taskflow does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A value bound to a statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// A statement as the database received it: its text with `$n` placeholders and the values.
#[derive(Clone, Debug)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Value>,
    /// Only known on SQLite (`sqlite3_stmt_readonly`).
    pub read_only: bool,
}

/// What one request issued.
#[derive(Clone, Debug)]
pub struct Capture {
    pub statements: Vec<Statement>,
    /// The task number and id a create was given (see the module's rule).
    pub created: Option<(i64, i64)>,
}

/// Where a replayed statement is in a create: which captured value stands for a fresh one.
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    /// Before the number is taken: nothing.
    Before,
    /// From the allocation up to the task's insert: the number.
    Allocated,
    /// After the insert: the task's id.
    Inserted,
}

impl Phase {
    /// The phase after `sql`, which is replayed in this one.
    fn after(self, sql: &str) -> Phase {
        if allocates_number(sql) {
            Phase::Allocated
        } else if inserts_task(sql) {
            Phase::Inserted
        } else {
            self
        }
    }
}

/// The statement that inserts a created task.
fn inserts_task(sql: &str) -> bool {
    sql.trim_start().starts_with("INSERT INTO tasks ") && sql.contains("RETURNING id")
}

/// A request to capture: method, path, content type and body.
pub struct Probe {
    pub method: &'static str,
    pub path: String,
    pub content_type: Option<&'static str>,
    pub body: String,
}

/// Sends `probe` to the in-process router twice (the first warms caches and the token's
/// last-use time) and captures the statements of the second with `capture`.
pub async fn capture_request(
    app: &axum::Router,
    token: &str,
    probe: &Probe,
    capture: impl AsyncFnOnce(&axum::Router, Request<Body>) -> (Vec<Statement>, String),
    task_id: impl AsyncFnOnce(i64) -> i64,
) -> Capture {
    let request = || {
        let mut builder = Request::builder()
            .method(probe.method)
            .uri(&probe.path)
            .header("authorization", format!("Bearer {token}"));
        if let Some(t) = probe.content_type {
            builder = builder.header("content-type", t);
        }
        builder.body(Body::from(probe.body.clone())).unwrap()
    };
    let warm = app.clone().oneshot(request()).await.unwrap();
    assert!(
        warm.status().is_success(),
        "{} {}: {}",
        probe.method,
        probe.path,
        warm.status()
    );
    let _ = warm.into_body().collect().await;
    let (statements, answer) = capture(app, request()).await;
    assert!(
        !statements.is_empty(),
        "no statements captured for {}",
        probe.path
    );
    let created = if probe.method == "POST" && probe.path.ends_with("/tasks") {
        let answer: serde_json::Value = serde_json::from_str(&answer).expect("a task");
        let number = answer["number"].as_i64().expect("the task's number");
        Some((number, task_id(number).await))
    } else {
        None
    };
    Capture {
        statements,
        created,
    }
}

/// Runs `request` through `app`; the answer's body as text (a failure is a bug in the probe).
pub async fn answer(app: &axum::Router, request: Request<Body>) -> String {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8_lossy(&body).into_owned();
    assert!(status.is_success(), "the probe failed: {status} {body}");
    body
}

// ---------------------------------------------------------------------------------------
// SQLite

#[allow(unsafe_code)]
pub mod sqlite_hook {
    //! A trace hook on every SQLite connection this process opens. Nothing is recorded unless
    //! `start` was called; `stop` returns what was.

    use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
    use std::sync::Mutex;

    use libsqlite3_sys as ffi;

    use super::{Statement, parse_expanded};

    static RECORDED: Mutex<Option<Vec<Statement>>> = Mutex::new(None);
    /// A statement the hook could not read (a panic must not cross into SQLite).
    static FAILED: Mutex<Option<String>> = Mutex::new(None);

    /// Installs the hook for connections opened from now on.
    pub fn install() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: `init` has the entry-point signature SQLite calls; it only registers a
            // trace callback on the connection it is given.
            let rc = unsafe { ffi::sqlite3_auto_extension(Some(init)) };
            assert_eq!(rc, ffi::SQLITE_OK, "sqlite3_auto_extension failed");
        });
    }

    pub fn start() {
        *RECORDED.lock().unwrap() = Some(Vec::new());
    }

    pub fn stop() -> Vec<Statement> {
        if let Some(failure) = FAILED.lock().unwrap().take() {
            panic!("capturing SQLite statements failed: {failure}");
        }
        RECORDED.lock().unwrap().take().unwrap_or_default()
    }

    unsafe extern "C" fn init(
        db: *mut ffi::sqlite3,
        _error: *mut *mut c_char,
        _api: *const ffi::sqlite3_api_routines,
    ) -> c_int {
        // SAFETY: `db` is the connection SQLite is opening; the callback is a plain function.
        unsafe {
            ffi::sqlite3_trace_v2(
                db,
                ffi::SQLITE_TRACE_STMT as c_uint,
                Some(trace),
                std::ptr::null_mut(),
            )
        };
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn trace(
        _mask: c_uint,
        _ctx: *mut c_void,
        p: *mut c_void,
        x: *mut c_void,
    ) -> c_int {
        let mut recorded = RECORDED.lock().unwrap();
        let Some(statements) = recorded.as_mut() else {
            return 0;
        };
        let stmt = p.cast::<ffi::sqlite3_stmt>();
        // SAFETY: for SQLITE_TRACE_STMT, `p` is the statement being run and `x` its text (or a
        // trigger's "-- name" comment); both are valid for the duration of the callback. The
        // expanded text is ours to free.
        unsafe {
            let text = CStr::from_ptr(x as *const c_char).to_string_lossy();
            // Triggers' "-- name", and the settings a connection opened meanwhile applies.
            let word = text.trim_start();
            if word.starts_with("--")
                || word
                    .get(..6)
                    .is_some_and(|w| w.eq_ignore_ascii_case("PRAGMA"))
            {
                return 0;
            }
            let original = CStr::from_ptr(ffi::sqlite3_sql(stmt))
                .to_string_lossy()
                .into_owned();
            let expanded_ptr = ffi::sqlite3_expanded_sql(stmt);
            let expanded = if expanded_ptr.is_null() {
                original.clone()
            } else {
                let e = CStr::from_ptr(expanded_ptr).to_string_lossy().into_owned();
                ffi::sqlite3_free(expanded_ptr.cast());
                e
            };
            let read_only = ffi::sqlite3_stmt_readonly(stmt) != 0;
            match std::panic::catch_unwind(|| parse_expanded(&original, &expanded)) {
                Ok(params) => statements.push(Statement {
                    sql: original,
                    params,
                    read_only,
                }),
                Err(_) => *FAILED.lock().unwrap() = Some(expanded),
            }
        }
        0
    }
}

/// The values bound to `original`'s `$n` placeholders, read from SQLite's expanded text (which
/// is the original with each placeholder replaced by its value as an SQL literal).
pub fn parse_expanded(original: &str, expanded: &str) -> Vec<Value> {
    let (o, e) = (original.as_bytes(), expanded.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut params: Vec<Value> = Vec::new();
    // `?` takes the number after the largest so far; `?N` and `$N` are numbered.
    let mut largest = 0;
    while i < o.len() {
        let placeholder =
            (o[i] == b'$' && o.get(i + 1).is_some_and(u8::is_ascii_digit)) || o[i] == b'?';
        if placeholder {
            let digits = o[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            let n: usize = if digits == 0 {
                largest + 1
            } else {
                original[i + 1..i + 1 + digits].parse().unwrap()
            };
            largest = largest.max(n);
            let (value, used) = literal(&expanded[j..]);
            if params.len() < n {
                params.resize(n, Value::Null);
            }
            params[n - 1] = value;
            i += 1 + digits;
            j += used;
        } else {
            assert_eq!(
                o[i], e[j],
                "expanded SQL differs from its statement: {original}"
            );
            i += 1;
            j += 1;
        }
    }
    params
}

/// The SQL literal at the start of `s` and its length.
fn literal(s: &str) -> (Value, usize) {
    if s.starts_with("NULL") {
        return (Value::Null, 4);
    }
    if let Some(rest) = s.strip_prefix('\'') {
        let mut text = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((k, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                    chars.next();
                    text.push('\'');
                } else {
                    return (Value::Text(text), k + 2);
                }
            } else {
                text.push(c);
            }
        }
        panic!("an unterminated string in expanded SQL: {s}");
    }
    let len = s
        .find(|c: char| !(c.is_ascii_digit() || "-+.eE".contains(c)))
        .unwrap_or(s.len());
    let number = &s[..len];
    match number.parse::<i64>() {
        Ok(n) => (Value::Int(n), len),
        Err(_) => (
            Value::Real(
                number
                    .parse()
                    .unwrap_or_else(|_| panic!("not a literal: {s}")),
            ),
            len,
        ),
    }
}

/// The SQLite floor: `capture`'s statements replayed with `connections` concurrent clients
/// for `seconds`, each request's statements in one transaction (`BEGIN IMMEDIATE` on the one
/// writer connection when any of them writes, else a read transaction on the read pool), with
/// the store's connection settings. Requests per second.
pub async fn sqlite_floor(path: &Path, capture: &Capture, connections: usize, seconds: u64) -> f64 {
    if capture.statements.iter().all(|s| s.read_only) {
        let (path, capture) = (path.to_owned(), capture.clone());
        return tokio::task::spawn_blocking(move || {
            sqlite_read_floor(&path, &capture, connections, seconds)
        })
        .await
        .unwrap();
    }
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    let base = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let writes = capture.statements.iter().any(|s| !s.read_only);
    let pool = if writes {
        SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(base)
            .await
            .unwrap()
    } else {
        SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute(taskflow_store::sqlite::READ_CONNECTION_SETUP)
                        .await
                        .map(drop)
                })
            })
            .connect_with(base.read_only(true))
            .await
            .unwrap()
    };
    let statements: Arc<Vec<Statement>> = Arc::new(
        capture
            .statements
            .iter()
            .filter(|s| !is_transaction_control(&s.sql))
            .cloned()
            .collect(),
    );
    let begin = if writes { "BEGIN IMMEDIATE" } else { "BEGIN" };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let pool = pool.clone();
            let statements = statements.clone();
            let created = capture.created;
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    let mut conn = pool.acquire().await.unwrap();
                    sqlx::query(begin).execute(&mut *conn).await.unwrap();
                    let (mut phase, mut fresh_number, mut fresh_id) = (Phase::Before, 0, 0);
                    for statement in statements.iter() {
                        let now = phase;
                        phase = phase.after(&statement.sql);
                        let mut query = sqlx::query(&statement.sql);
                        for value in &statement.params {
                            query = match (value, created, now) {
                                (Value::Int(v), Some((n, _)), Phase::Allocated) if *v == n => {
                                    query.bind(fresh_number)
                                }
                                (Value::Int(v), Some((_, id)), Phase::Inserted) if *v == id => {
                                    query.bind(fresh_id)
                                }
                                (Value::Int(v), ..) => query.bind(*v),
                                (Value::Real(v), ..) => query.bind(*v),
                                (Value::Text(v), ..) => query.bind(v.clone()),
                                (Value::Null, ..) => query.bind(Option::<i64>::None),
                            };
                        }
                        let rows = query
                            .fetch_all(&mut *conn)
                            .await
                            .unwrap_or_else(|e| panic!("replaying {}: {e}", statement.sql));
                        use sqlx::Row;
                        if allocates_number(&statement.sql) {
                            fresh_number = rows[0].get("number");
                        } else if inserts_task(&statement.sql) {
                            fresh_id = rows[0].get("id");
                        }
                    }
                    sqlx::query("COMMIT").execute(&mut *conn).await.unwrap();
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker.await.unwrap();
    }
    pool.close().await;
    total as f64 / seconds as f64
}

/// The SQLite floor of a request that only reads: its statements replayed as the store's
/// direct reads run them — through rusqlite on read-only connections with the same setup,
/// each statement prepared once per connection — one thread per client, each request's
/// statements in one read transaction. Requests per second.
fn sqlite_read_floor(path: &Path, capture: &Capture, connections: usize, seconds: u64) -> f64 {
    use rusqlite::{Connection, OpenFlags, types::Value as V};
    let statements: Vec<Statement> = capture
        .statements
        .iter()
        .filter(|s| !is_transaction_control(&s.sql))
        .cloned()
        .collect();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let done: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                scope.spawn(|| {
                    let conn = Connection::open_with_flags(
                        path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .unwrap();
                    conn.busy_timeout(Duration::from_secs(5)).unwrap();
                    conn.set_prepared_statement_cache_capacity(32);
                    conn.execute_batch(taskflow_store::sqlite::READ_CONNECTION_SETUP)
                        .unwrap();
                    let mut done = 0u64;
                    while Instant::now() < deadline {
                        conn.execute_batch("BEGIN").unwrap();
                        for statement in &statements {
                            let mut stmt = conn.prepare_cached(&statement.sql).unwrap();
                            for (i, value) in statement.params.iter().enumerate() {
                                // `$n` and `?n` by name; a bare `?` is the n-th by position,
                                // as `parse_expanded` numbers it.
                                let n = i + 1;
                                let index = stmt
                                    .parameter_index(&format!("${n}"))
                                    .unwrap()
                                    .or_else(|| stmt.parameter_index(&format!("?{n}")).unwrap())
                                    .unwrap_or(n);
                                let value = match value {
                                    Value::Null => V::Null,
                                    Value::Int(v) => V::Integer(*v),
                                    Value::Real(v) => V::Real(*v),
                                    Value::Text(v) => V::Text(v.clone()),
                                };
                                stmt.raw_bind_parameter(index, value).unwrap();
                            }
                            let columns = stmt.column_count();
                            let mut rows = stmt.raw_query();
                            while let Some(row) = rows
                                .next()
                                .unwrap_or_else(|e| panic!("replaying {}: {e}", statement.sql))
                            {
                                for c in 0..columns {
                                    std::hint::black_box(row.get_ref(c).unwrap());
                                }
                            }
                        }
                        conn.execute_batch("COMMIT").unwrap();
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    done as f64 / seconds as f64
}

fn is_transaction_control(sql: &str) -> bool {
    let word = sql.split_whitespace().next().unwrap_or("");
    ["BEGIN", "COMMIT", "ROLLBACK"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w))
}

/// The statement that takes a create's task number.
fn allocates_number(sql: &str) -> bool {
    sql.contains("next_task_number") && sql.contains("AS number")
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

/// `url` with every statement of its connections written to the server's log.
pub fn logging_url(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20log_statement%3Dall")
}

/// The statements logged in `log` after byte `from`: `LOG:  execute …: SQL` or
/// `LOG:  statement: SQL`, each followed by its `DETAIL:  parameters: $1 = '…', …` line.
pub fn logged_statements(log: &Path, from: u64) -> Vec<Statement> {
    let text = std::fs::read(log).unwrap();
    let text = String::from_utf8_lossy(&text[from as usize..]).into_owned();
    let mut statements: Vec<Statement> = Vec::new();
    let mut last_was_statement = false;
    for line in text.lines() {
        if line.starts_with('\t') {
            if last_was_statement {
                let s = statements.last_mut().unwrap();
                s.sql.push(' ');
                s.sql.push_str(line.trim());
            }
            continue;
        }
        if let Some((_, rest)) = line.split_once(" LOG:  ") {
            last_was_statement = false;
            let sql = if let Some(sql) = rest.strip_prefix("statement: ") {
                sql
            } else if let Some(execute) = rest.strip_prefix("execute ") {
                match execute.split_once(": ") {
                    Some((_, sql)) => sql,
                    None => continue,
                }
            } else {
                continue;
            };
            statements.push(Statement {
                sql: sql.to_owned(),
                params: Vec::new(),
                read_only: false,
            });
            last_was_statement = true;
        } else if let Some((_, rest)) = line.split_once(" DETAIL:  parameters: ") {
            if let Some(s) = statements.last_mut() {
                s.params = logged_parameters(rest);
            }
            last_was_statement = false;
        } else {
            last_was_statement = false;
        }
    }
    statements
}

/// `$1 = 'a', $2 = NULL, …` as values (PostgreSQL logs every value as quoted text).
fn logged_parameters(mut rest: &str) -> Vec<Value> {
    let mut params = Vec::new();
    while let Some(start) = rest.find(" = ") {
        rest = &rest[start + 3..];
        let (value, used) = literal(rest);
        params.push(value);
        rest = &rest[used..];
    }
    params
}

/// A pgbench script replaying `capture`, and the variables (`--define`) it uses: every value is
/// bound as a parameter, as sqlx binds it (a value written into the text could hold `:` that
/// pgbench would take for a variable), except NULL, and the create's number, which comes from
/// the allocation (see the module's rule).
pub fn pgbench_script(capture: &Capture) -> (String, Vec<String>) {
    let mut script = String::new();
    let mut defines = Vec::new();
    let mut phase = Phase::Before;
    let created = capture
        .created
        .map(|(number, id)| (number.to_string(), id.to_string()));
    for (s, statement) in capture.statements.iter().enumerate() {
        let now = phase;
        phase = phase.after(&statement.sql);
        let mut sql = statement.sql.clone();
        // Highest placeholders first, so `$1` does not eat the start of `$10`.
        for (i, value) in statement.params.iter().enumerate().rev() {
            let fresh = match (value, &created, now) {
                (Value::Text(t), Some((n, _)), Phase::Allocated) if t == n => Some(":number"),
                (Value::Text(t), Some((_, id)), Phase::Inserted) if t == id => Some(":id"),
                _ => None,
            };
            let bound = match value {
                _ if fresh.is_some() => fresh.unwrap().to_owned(),
                Value::Null => "NULL".to_owned(),
                // pgbench refuses an empty definition.
                Value::Text(t) if t.is_empty() => "''".to_owned(),
                other => {
                    let text = match other {
                        Value::Text(t) => t.clone(),
                        Value::Int(n) => n.to_string(),
                        Value::Real(r) => r.to_string(),
                        Value::Null => unreachable!(),
                    };
                    let name = format!("s{s}p{}", i + 1);
                    defines.push(format!("{name}={text}"));
                    format!(":{name}")
                }
            };
            sql = sql.replace(&format!("${}", i + 1), &bound);
        }
        let sql = sql.replace('\n', " ");
        if allocates_number(&statement.sql) || inserts_task(&statement.sql) {
            script.push_str(&format!("{sql} \\gset\n"));
        } else {
            script.push_str(&format!("{sql};\n"));
        }
    }
    (script, defines)
}

/// pgbench: `script` against `url`'s database with `connections` clients for `seconds`, each
/// statement prepared once per connection as sqlx does. Transactions (replayed requests) per
/// second, and the cores pgbench itself used.
pub fn pgbench(
    script_path: &Path,
    defines: &[String],
    url: &str,
    connections: usize,
    seconds: u64,
) -> (f64, f64) {
    // postgres://USER@HOST:PORT/DB
    let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
    let (user, rest) = rest.split_once('@').expect("a user");
    let (host_port, db) = rest.split_once('/').expect("a database");
    let db = db.split('?').next().unwrap();
    let (host, port) = host_port.split_once(':').expect("a port");
    let started = Instant::now();
    let (_, children_before) = super::cpu_ticks("self");
    let out = Command::new(pgbench_binary())
        .args(["--no-vacuum", "--protocol=prepared", "--file"])
        .arg(script_path)
        .args(defines.iter().flat_map(|d| ["--define", d.as_str()]))
        .args([
            "--client",
            &connections.to_string(),
            "--jobs",
            if connections == 1 { "1" } else { "2" },
            "--time",
            &seconds.to_string(),
            "--host",
            host,
            "--port",
            port,
            "--username",
            user,
            db,
        ])
        .output()
        .expect("run pgbench");
    let (_, children_after) = super::cpu_ticks("self");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !errors.contains("aborted"),
        "pgbench failed replaying this script:\n{}\n{text}{errors}",
        std::fs::read_to_string(script_path).unwrap_or_default(),
    );
    let tps = text
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench's output: {text}"));
    let cores = (children_after - children_before) as f64 / 100.0 / started.elapsed().as_secs_f64();
    (tps, cores)
}

/// pgbench from the PostgreSQL the tests use (`TASKFLOW_TEST_PG_BIN`), else from `PATH`.
fn pgbench_binary() -> PathBuf {
    std::env::var_os("TASKFLOW_TEST_PG_BIN")
        .map(|dir| PathBuf::from(dir).join("pgbench"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| {
            let found = Command::new("pgbench").arg("--version").output();
            assert!(
                found.is_ok(),
                "pgbench is needed for the PostgreSQL floor: apt-get install postgresql-client"
            );
            PathBuf::from("pgbench")
        })
}
