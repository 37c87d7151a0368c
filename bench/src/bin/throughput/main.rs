//! Throughput of the release binary measured against the machine's own limits in the same run.
//!
//! Run: `cargo run --release -p taskflow-bench --bin throughput [-- --seconds N]` (wrk and
//! pgbench are needed: `apt-get install wrk postgresql-client`). For SQLite and for PostgreSQL
//! (fsync on), one project of 1 000 tasks, at 1 and 16 connections: list 50 tasks, get one,
//! create, update, search, upload 1 MiB (a unique body each time), download 1 MiB. Beside them
//! the floors from the same run: the HTTP floor (the same binary answering `/healthz`, which
//! does no work), the database floor (the statements one request of the workload issues,
//! captured as Taskflow answers it and replayed without it: see `floor`), and the disk floor
//! (the upload's file pattern alone: write 1 MiB, fsync, rename, fsync the directory, in as
//! many threads as connections). It prints every figure with its ratio to the floor, the CPU
//! the load generator took, the server's resident memory idle and at the peak of each
//! workload, writes the tables into `bench/RESULTS.md` between the `throughput` markers, and
//! exits 1 when a target is missed.

mod floor;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use taskflow_bench::{Server, mib, taskflow_binary};
use taskflow_testkit::{Backend, TestStore};

const TASKS: i64 = 1000;
const MIB: usize = 1 << 20;

/// What one wrk run measured.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// CPU the server used, in cores (1.0 = one core busy throughout).
    server_cores: f64,
    /// CPU the load generator used, in cores.
    generator_cores: f64,
    /// The server's peak resident memory during the run, KiB.
    peak_kib: u64,
}

/// A workload: its name, the wrk script, and whether it is a read (p99 target 25 ms) or a
/// write (50 ms).
struct Workload {
    name: &'static str,
    script: String,
    read: bool,
    /// One request of the workload, for the database floor.
    probe: Option<floor::Probe>,
}

fn clock_ticks() -> f64 {
    // Linux's USER_HZ is 100 on every architecture Taskflow is built for.
    100.0
}

/// utime + stime of a process, and cutime + cstime (its waited-for children), in ticks.
fn cpu_ticks(pid: &str) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("a running process");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<u64> = stat
        .rsplit_once(") ")
        .expect("a stat line")
        .1
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().expect("a number"))
        .collect();
    (fields[0] + fields[1], fields[2] + fields[3])
}

/// Resets a process's peak resident memory (VmHWM), so the next reading is this run's peak.
fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

fn wrk_installed() {
    match Command::new("wrk").arg("--version").output() {
        Ok(_) => {}
        Err(e) => panic!("wrk is needed to generate the load ({e}): apt-get install wrk"),
    }
}

/// Runs wrk against `server` and reads its figures; any non-2xx answer fails the benchmark.
fn wrk(server: &Server, script: &Path, connections: usize, seconds: u64) -> Run {
    let pid = server.child.id();
    reset_peak(pid);
    let (server_before, _) = cpu_ticks(&pid.to_string());
    let (_, children_before) = cpu_ticks("self");
    let started = Instant::now();
    let out = Command::new("wrk")
        .args([
            "--threads",
            if connections == 1 { "1" } else { "2" },
            "--connections",
            &connections.to_string(),
            "--duration",
            &format!("{seconds}s"),
            "--timeout",
            "10s",
            "--latency",
            "--script",
        ])
        .arg(script)
        .arg(format!("http://{}", server.address))
        .output()
        .expect("run wrk");
    let elapsed = started.elapsed().as_secs_f64();
    let (server_after, _) = cpu_ticks(&pid.to_string());
    let (_, children_after) = cpu_ticks("self");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("Non-2xx"),
        "the server answered errors under {}: {text}",
        script.display()
    );
    let value_of = |prefix: &str| -> &str {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in wrk's output: {text}"))
            .trim()
    };
    let millis = |v: &str| -> f64 {
        let (number, unit) = v
            .find(|c: char| c.is_ascii_alphabetic())
            .map(|i| v.split_at(i))
            .expect("a unit");
        let n: f64 = number.parse().expect("a number");
        match unit {
            "us" => n / 1000.0,
            "ms" => n,
            "s" => n * 1000.0,
            "m" => n * 60_000.0,
            other => panic!("unknown unit {other}"),
        }
    };
    Run {
        requests_per_second: value_of("Requests/sec:").parse().expect("a rate"),
        p50_ms: millis(value_of("50%")),
        p99_ms: millis(value_of("99%")),
        server_cores: (server_after - server_before) as f64 / clock_ticks() / elapsed,
        generator_cores: (children_after - children_before) as f64 / clock_ticks() / elapsed,
        peak_kib: server.memory_kib("VmHWM"),
    }
}

/// The disk floor: what the upload's file pattern alone achieves in `dir` with `threads`
/// writers: create a file, write 1 MiB, fsync, rename, fsync the directory.
fn disk_floor(dir: &Path, threads: usize, seconds: u64) -> f64 {
    use std::io::Write;
    let dir = dir.join("disk-floor");
    std::fs::create_dir_all(&dir).unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let done: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let dir = &dir;
                scope.spawn(move || {
                    let mut body = vec![0u8; MIB];
                    let mut n = 0usize;
                    while Instant::now() < deadline {
                        body[..16].copy_from_slice(&((t << 40 | n) as u128).to_le_bytes());
                        let tmp = dir.join(format!("tmp-{t}-{n}"));
                        let mut file = std::fs::File::create(&tmp).unwrap();
                        file.write_all(&body).unwrap();
                        file.sync_all().unwrap();
                        std::fs::rename(&tmp, dir.join(format!("blob-{t}-{n}"))).unwrap();
                        std::fs::File::open(dir).unwrap().sync_all().unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    std::fs::remove_dir_all(&dir).unwrap();
    done as f64 / seconds as f64
}

fn scripts(dir: &Path, token: &str, download: i64) -> Vec<Workload> {
    let auth = format!("wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n");
    let json = "wrk.headers[\"Content-Type\"] = \"application/json\"\n";
    // Each wrk thread numbers its requests from its own range, so bodies never repeat.
    let counter = "local threads = 0\n\
                   function setup(thread) thread:set(\"id\", threads) threads = threads + 1 end\n\
                   local n = 0\n";
    let workloads = [
        ("http floor", String::new(), true, "wrk.path = \"/healthz\"\n".to_owned()),
        (
            "list 50",
            auth.clone(),
            true,
            "wrk.path = \"/api/v1/projects/BIG/tasks?limit=50\"\n".to_owned(),
        ),
        (
            "get",
            auth.clone(),
            true,
            format!(
                "request = function() return wrk.format(\"GET\", \"/api/v1/tasks/BIG-\" .. math.random({TASKS})) end\n"
            ),
        ),
        (
            "search",
            auth.clone(),
            true,
            "wrk.path = \"/api/v1/projects/BIG/tasks?q=deploy&limit=50\"\n".to_owned(),
        ),
        (
            "create",
            format!("{auth}{json}"),
            false,
            "wrk.method = \"POST\"\nwrk.path = \"/api/v1/projects/BIG/tasks\"\nwrk.body = '{\"title\":\"a task from the benchmark\"}'\n".to_owned(),
        ),
        (
            "update",
            format!("{auth}{json}"),
            false,
            format!(
                "{counter}request = function()\n  n = n + 1\n  return wrk.format(\"PATCH\", \"/api/v1/tasks/BIG-\" .. math.random({TASKS}), nil, '{{\"title\":\"renamed ' .. id .. '-' .. n .. '\"}}')\nend\n"
            ),
        ),
        (
            "upload 1 MiB",
            format!("{auth}wrk.headers[\"Content-Type\"] = \"application/octet-stream\"\n"),
            false,
            format!(
                "{counter}local filler = string.rep(\"u\", {} - 32)\nrequest = function()\n  n = n + 1\n  return wrk.format(\"POST\", \"/api/v1/tasks/BIG-1/attachments?name=bench.bin\", nil, string.format(\"%016d%016d\", id, n) .. filler)\nend\n",
                MIB
            ),
        ),
        (
            "download 1 MiB",
            auth,
            true,
            format!("wrk.path = \"/api/v1/attachments/{download}/content\"\n"),
        ),
    ];
    workloads
        .into_iter()
        .map(|(name, headers, read, body)| {
            let path = dir.join(format!("{}.lua", name.replace(' ', "-")));
            std::fs::write(&path, format!("{headers}{body}")).unwrap();
            Workload {
                name,
                script: path.display().to_string(),
                read,
                probe: probe(name, download),
            }
        })
        .collect()
}

/// One request of a workload, as its wrk script sends them; none for the HTTP floor and the
/// upload, whose floors are not the database's.
fn probe(name: &str, download: i64) -> Option<floor::Probe> {
    let get = |path: String| floor::Probe {
        method: "GET",
        path,
        content_type: None,
        body: String::new(),
    };
    Some(match name {
        "list 50" => get("/api/v1/projects/BIG/tasks?limit=50".to_owned()),
        "get" => get(format!("/api/v1/tasks/BIG-{}", TASKS / 2)),
        "search" => get("/api/v1/projects/BIG/tasks?q=deploy&limit=50".to_owned()),
        "download 1 MiB" => get(format!("/api/v1/attachments/{download}/content")),
        "create" => floor::Probe {
            method: "POST",
            path: "/api/v1/projects/BIG/tasks".to_owned(),
            content_type: Some("application/json"),
            body: r#"{"title":"a task from the benchmark"}"#.to_owned(),
        },
        "update" => floor::Probe {
            method: "PATCH",
            path: format!("/api/v1/tasks/BIG-{}", TASKS / 2),
            content_type: Some("application/json"),
            body: r#"{"title":"renamed by the floor probe"}"#.to_owned(),
        },
        _ => return None,
    })
}

/// One backend's figures: per workload, at 1 and 16 connections.
struct Results {
    backend: &'static str,
    idle_kib: u64,
    disk_floor: [f64; 2],
    runs: Vec<Measured>,
}

/// A workload's figures at 1 and 16 connections, and its database floor at each.
struct Measured {
    name: &'static str,
    read: bool,
    runs: [Run; 2],
    db_floor: Option<[f64; 2]>,
}

const CONNECTIONS: [usize; 2] = [1, 16];

async fn measure(backend: Backend, binary: &Path, seconds: u64, only: &[String]) -> Results {
    let store = match backend {
        Backend::Sqlite => TestStore::sqlite().await,
        Backend::Postgres => TestStore::postgres().await,
    };
    let (owner, token) = store.user_with_token("bench", true).await;
    let project = taskflow_bench::big_project(&store, owner.id).await;
    taskflow_bench::fill(&store, project.id, owner.id.0, TASKS).await;
    let env = vec![
        ("TASKFLOW_DATABASE_URL", store.url.clone()),
        ("TASKFLOW_DATA_DIR", store.data_dir.display().to_string()),
        ("TASKFLOW_GC_INTERVAL", "off".to_owned()),
        ("TASKFLOW_MAX_UPLOAD_BYTES", "8MiB".to_owned()),
    ];
    let server = Server::start(binary, &env);
    std::thread::sleep(Duration::from_millis(500));
    let idle_kib = server.memory_kib("VmRSS");
    let token = token.expose().to_owned();
    let auth = format!("Bearer {token}");
    let body = "d".repeat(MIB);
    let (status, answer) = server.request(
        "POST",
        "/api/v1/tasks/BIG-2/attachments?name=download.bin",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/octet-stream"),
        ],
        &body,
    );
    assert_eq!(status, 201, "{answer}");
    let download = answer
        .split("\"id\":")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|id| id.parse().ok())
        .expect("the attachment's id");
    let scripts_dir = store.data_dir.join("wrk");
    std::fs::create_dir_all(&scripts_dir).unwrap();
    let mut workloads = scripts(&scripts_dir, &token, download);
    if !only.is_empty() {
        workloads.retain(|w| {
            let first = w.name.split(' ').next().unwrap_or_default();
            w.name == "http floor" || only.iter().any(|o| o == first)
        });
    }
    let captures = capture(&store, &token, &workloads).await;
    let mut runs = Vec::new();
    for (workload, capture) in workloads.into_iter().zip(captures) {
        let mut pair = [Run::default(); 2];
        for (i, connections) in CONNECTIONS.into_iter().enumerate() {
            pair[i] = wrk(&server, Path::new(&workload.script), connections, seconds);
            println!(
                "{:<10} {:<15} {:>2} conn: {:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  server {:.2} cores  generator {:.2} cores  peak {}",
                format!("{backend:?}"),
                workload.name,
                connections,
                pair[i].requests_per_second,
                pair[i].p50_ms,
                pair[i].p99_ms,
                pair[i].server_cores,
                pair[i].generator_cores,
                mib(pair[i].peak_kib)
            );
        }
        // The database floor on the same data, the server idle meanwhile.
        let db_floor = match &capture {
            None => None,
            Some(capture) => {
                let mut rates = [0.0; 2];
                for (i, connections) in CONNECTIONS.into_iter().enumerate() {
                    let (rate, generator) = db_floor(
                        &store,
                        capture,
                        &scripts_dir,
                        workload.name,
                        connections,
                        seconds,
                    )
                    .await;
                    rates[i] = rate;
                    println!(
                        "{:<10} {:<15} {:>2} conn: {:>8.0} req/s  database floor ({} statements){}",
                        format!("{backend:?}"),
                        workload.name,
                        connections,
                        rate,
                        capture.statements.len(),
                        generator
                            .map(|g| format!(", pgbench {g:.2} cores"))
                            .unwrap_or_default()
                    );
                }
                Some(rates)
            }
        };
        runs.push(Measured {
            name: workload.name,
            read: workload.read,
            runs: pair,
            db_floor,
        });
    }
    drop(server);
    let disk_floor = CONNECTIONS.map(|c| disk_floor(&store.data_dir, c, seconds));
    println!(
        "{:<10} disk floor (1 MiB write, fsync, rename, dir fsync): {:.0}/s at 1 thread, {:.0}/s at 16",
        format!("{backend:?}"),
        disk_floor[0],
        disk_floor[1]
    );
    Results {
        backend: match backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        },
        idle_kib,
        disk_floor,
        runs,
    }
}

/// The statements one request of each workload issues, captured in this process through a
/// store of its own on the same database.
async fn capture(
    store: &TestStore,
    token: &str,
    workloads: &[Workload],
) -> Vec<Option<floor::Capture>> {
    let url = match store.backend {
        Backend::Sqlite => {
            floor::sqlite_hook::install();
            store.url.clone()
        }
        Backend::Postgres => floor::logging_url(&store.url),
    };
    let capturing = taskflow_testkit::open(store.backend, &url).await;
    let app = taskflow_server::app(taskflow_server::AppState::new(
        capturing.clone(),
        store.data_dir.clone(),
    ));
    let log = taskflow_testkit::PgCluster::shared()
        .root()
        .join("server.log");
    let mut captures = Vec::new();
    for workload in workloads {
        let Some(probe) = &workload.probe else {
            captures.push(None);
            continue;
        };
        let captured = floor::capture_request(
            &app,
            token,
            probe,
            async |app, request| {
                match store.backend {
                    Backend::Sqlite => {
                        floor::sqlite_hook::start();
                        let answer = floor::answer(app, request).await;
                        (floor::sqlite_hook::stop(), answer)
                    }
                    Backend::Postgres => {
                        let from = std::fs::metadata(&log).unwrap().len();
                        let answer = floor::answer(app, request).await;
                        // The server writes its log as it runs each statement.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        (floor::logged_statements(&log, from), answer)
                    }
                }
            },
            async |number| {
                let key = taskflow_core::task::TaskKey::parse(&format!("BIG-{number}")).unwrap();
                capturing
                    .task_by_key(&key)
                    .await
                    .expect("the created task")
                    .id
                    .0
            },
        )
        .await;
        captures.push(Some(captured));
    }
    capturing.close().await;
    captures
}

/// The database floor of one workload at `connections`: requests per second, and the cores
/// pgbench took (PostgreSQL).
async fn db_floor(
    store: &TestStore,
    capture: &floor::Capture,
    dir: &Path,
    name: &str,
    connections: usize,
    seconds: u64,
) -> (f64, Option<f64>) {
    match store.backend {
        Backend::Sqlite => {
            let path = store.sqlite_path().expect("a SQLite store");
            (
                floor::sqlite_floor(path, capture, connections, seconds).await,
                None,
            )
        }
        Backend::Postgres => {
            let (script, defines) = floor::pgbench_script(capture);
            let path = dir.join(format!("{}.sql", name.replace(' ', "-")));
            std::fs::write(&path, script).unwrap();
            let (rate, cores) = floor::pgbench(&path, &defines, &store.url, connections, seconds);
            (rate, Some(cores))
        }
    }
}

/// A target: what is compared, the figure, the bound, and whether it is met.
struct Check {
    what: String,
    met: bool,
}

fn report(results: &[Results], seconds: u64) -> (String, Vec<Check>) {
    let mut text = String::new();
    let mut checks = Vec::new();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let _ = writeln!(
        text,
        "`cargo run --release -p taskflow-bench --bin throughput` — release build, wrk \
         (1 thread at 1 connection, 2 threads at 16), {seconds} s per case, one project of \
         {TASKS} tasks; SQLite with `synchronous = FULL`, PostgreSQL with fsync on over TCP on \
         127.0.0.1. Load average before the run: {}.\n",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    for r in results {
        let floor = r
            .runs
            .iter()
            .find(|m| m.name == "http floor")
            .map(|m| m.runs)
            .expect("the floor runs first");
        let _ = writeln!(
            text,
            "### {}\n\nIdle resident memory {}. Disk floor {:.0}/s (1 thread), {:.0}/s (16).\n",
            r.backend,
            mib(r.idle_kib),
            r.disk_floor[0],
            r.disk_floor[1]
        );
        text.push_str(
            "| workload | req/s at 1 | p99 at 1 | req/s at 16 | p99 at 16 | × floor at 16 | database floor at 1 / 16 | × database floor at 1 / 16 | server cores | generator cores | peak RSS |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for m in &r.runs {
            let (name, read, pair) = (&m.name, &m.read, &m.runs);
            let [one, many] = pair;
            let (ratio, floor_name) = if name.starts_with("upload") {
                (many.requests_per_second / r.disk_floor[1], "disk")
            } else {
                (
                    many.requests_per_second / floor[1].requests_per_second,
                    "http",
                )
            };
            let (db, db_ratio) = match m.db_floor {
                Some([f1, f16]) => (
                    format!("{f1:.0} / {f16:.0}"),
                    format!(
                        "{:.2} / {:.2}",
                        one.requests_per_second / f1,
                        many.requests_per_second / f16
                    ),
                ),
                None => ("–".to_owned(), "–".to_owned()),
            };
            let _ = writeln!(
                text,
                "| {name} | {:.0} | {:.2} ms | {:.0} | {:.2} ms | {ratio:.3} ({floor_name}) | {db} | {db_ratio} | {:.2} | {:.2} | {} |",
                one.requests_per_second,
                one.p99_ms,
                many.requests_per_second,
                many.p99_ms,
                many.server_cores,
                many.generator_cores,
                mib(pair.iter().map(|r| r.peak_kib).max().unwrap_or(0))
            );
            if let (&"create", Some([_, f16])) = (name, m.db_floor) {
                let ratio = many.requests_per_second / f16;
                checks.push(Check {
                    what: format!(
                        "{} create: {ratio:.3} × its statements' floor at 16 connections (target ≥ 0.5)",
                        r.backend
                    ),
                    met: ratio >= 0.5,
                });
            }
            let target = match *name {
                "get" => Some(0.5),
                "list 50" => Some(0.2),
                "upload 1 MiB" => Some(0.8),
                _ => None,
            };
            if let Some(target) = target {
                // What the statements alone reach bounds the ratio from above: a reader of a
                // missed target sees whether Taskflow or the database falls short.
                let bound = match m.db_floor {
                    Some([_, f16]) if floor_name == "http" => format!(
                        "; its statements alone reach {:.3} × it",
                        f16 / floor[1].requests_per_second
                    ),
                    _ => String::new(),
                };
                checks.push(Check {
                    what: format!(
                        "{} {name}: {ratio:.3} × the {floor_name} floor at 16 connections (target ≥ {target}){bound}",
                        r.backend
                    ),
                    met: ratio >= target,
                });
            }
            if *name != "http floor" {
                let bound = if *read { 25.0 } else { 50.0 };
                checks.push(Check {
                    what: format!(
                        "{} {name}: p99 {:.2} ms at 16 connections (target < {bound} ms)",
                        r.backend, many.p99_ms
                    ),
                    met: many.p99_ms < bound,
                });
            }
            let peak = pair.iter().map(|r| r.peak_kib).max().unwrap_or(0);
            checks.push(Check {
                what: format!(
                    "{} {name}: peak resident memory {} (target < 64 MiB)",
                    r.backend,
                    mib(peak)
                ),
                met: peak < 64 * 1024,
            });
        }
        checks.push(Check {
            what: format!(
                "{}: idle resident memory {} (target < 20 MiB)",
                r.backend,
                mib(r.idle_kib)
            ),
            met: r.idle_kib < 20 * 1024,
        });
        text.push('\n');
    }
    text.push_str("Targets:\n\n");
    for check in &checks {
        let _ = writeln!(
            text,
            "- {} {}",
            if check.met { "met:" } else { "**missed:**" },
            check.what
        );
    }
    (text, checks)
}

/// Replaces the text between the throughput markers in `bench/RESULTS.md`.
fn record(text: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("RESULTS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let (begin, end) = (
        "<!-- throughput: written by the benchmark -->",
        "<!-- throughput: end -->",
    );
    let section = format!("{begin}\n{text}{end}");
    let new = match (old.find(begin), old.find(end)) {
        (Some(b), Some(e)) if b < e => format!("{}{section}{}", &old[..b], &old[e + end.len()..]),
        _ => format!("{old}\n## throughput: Taskflow against the machine's limits\n\n{section}\n"),
    };
    std::fs::write(&path, new).unwrap();
    path
}

fn main() {
    let mut seconds = 10;
    let mut backends = vec![Backend::Sqlite, Backend::Postgres];
    // --keep: write the tables to standard output only, leaving bench/RESULTS.md as it is.
    let mut keep = false;
    // --only: these workloads (by the first word of their names) and the HTTP floor.
    let mut only: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--seconds takes a number")
            }
            "--backend" => {
                backends = match args.next().as_deref() {
                    Some("sqlite") => vec![Backend::Sqlite],
                    Some("postgres") => vec![Backend::Postgres],
                    _ => panic!("--backend takes sqlite or postgres"),
                }
            }
            "--keep" => keep = true,
            "--only" => {
                only = args
                    .next()
                    .expect("--only takes workload names, comma-separated")
                    .split(',')
                    .map(str::to_owned)
                    .collect();
                // Some workloads are not a run to record.
                keep = true;
            }
            other => panic!(
                "unknown argument {other}; usage: throughput [--seconds N] [--backend sqlite|postgres] [--only get,list,…] [--keep]"
            ),
        }
    }
    wrk_installed();
    let binary = taskflow_binary();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let results: Vec<Results> = backends
        .into_iter()
        .map(|backend| runtime.block_on(measure(backend, &binary, seconds, &only)))
        .collect();
    let (text, checks) = report(&results, seconds);
    if keep {
        println!("\n{text}");
    } else {
        let path = record(&text);
        println!("\n{text}\nwritten to {}", path.display());
    }
    let missed = checks.iter().filter(|c| !c.met).count();
    if missed > 0 {
        eprintln!("{missed} target(s) missed");
        std::process::exit(1);
    }
}
