//! Start-up time with a large SQLite database: a startup probe must never kill a big
//! installation because `serve` took long to listen.
//!
//! Run: `cargo run --release -p taskflow-bench --bin startup`. It builds the release binary,
//! fills a SQLite installation with `TASKFLOW_BENCH_TASKS` (default 1 000 000) tasks, then
//! starts `serve` on it five times and measures, for each start, the time until it listens and
//! until `/readyz` answers 200. Target: both under 1 s.

use std::time::{Duration, Instant};

use taskflow_bench::{Server, fill, taskflow_binary};
use taskflow_testkit::TestStore;

const STARTS: usize = 5;

#[tokio::main]
async fn main() {
    let tasks: i64 = std::env::var("TASKFLOW_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let binary = taskflow_binary();
    let store = TestStore::sqlite().await;
    let (owner, project) = taskflow_bench::owner_and_project(&store, true).await;
    let filled = fill(&store, project.id, owner.id.0, tasks).await;
    let bytes = store.database_bytes().await.unwrap();
    println!(
        "filled {tasks} tasks in {:.1} s; database {:.0} MiB",
        filled.as_secs_f64(),
        bytes as f64 / (1 << 20) as f64
    );
    let env = vec![
        ("TASKFLOW_DATA_DIR", store.data_dir.display().to_string()),
        ("TASKFLOW_DATABASE_URL", store.url.clone()),
        ("TASKFLOW_GC_INTERVAL", "off".to_owned()),
    ];
    let mut rows = Vec::new();
    for _ in 0..STARTS {
        let started = Instant::now();
        let server = Server::start(&binary, &env);
        let listening = server.started_in;
        let ready = loop {
            if server.request("GET", "/readyz", &[], "").0 == 200 {
                break started.elapsed();
            }
            assert!(started.elapsed() < Duration::from_secs(120), "never ready");
            std::thread::sleep(Duration::from_millis(5));
        };
        drop(server);
        rows.push((listening, ready));
    }
    println!();
    println!("| start | listening after | /readyz 200 after |");
    println!("|---|---|---|");
    for (i, (listening, ready)) in rows.iter().enumerate() {
        println!(
            "| {} | {:.0} ms | {:.0} ms |",
            i + 1,
            listening.as_secs_f64() * 1000.0,
            ready.as_secs_f64() * 1000.0
        );
    }
    let worst = rows.iter().map(|(_, ready)| *ready).max().unwrap();
    let ok = worst < Duration::from_secs(1);
    println!(
        "\nslowest start to ready: {:.0} ms; under 1 s: {}",
        worst.as_secs_f64() * 1000.0,
        if ok { "yes" } else { "NO" }
    );
    if !ok {
        std::process::exit(1);
    }
}
