//! The board page of a large project, rendered in-process: 3 columns × 50 cards on a project
//! of 100 000 tasks must render in under 20 ms (p95), and the page with its stylesheet and
//! scripts must weigh under 100 KiB as sent (gzip).
//!
//! Run: `cargo run --release -p taskflow-bench --bin board`. SQLite always; PostgreSQL too
//! when `TASKFLOW_TEST_PG_BIN` names its server binaries (as for the tests). Exits non-zero
//! when a target is missed. `TASKFLOW_BENCH_TASKS` changes the project's size.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use taskflow_bench::{fill, ms, percentile, sample};
use taskflow_core::Timestamp;
use taskflow_core::user::{NewSession, TokenSecret, csrf_token};
use taskflow_testkit::{Backend, TestStore};
use tower::ServiceExt;

const RUNS: usize = 200;
const P95_TARGET: Duration = Duration::from_millis(20);
const WEIGHT_TARGET: usize = 100 * 1024;

struct Figures {
    backend: &'static str,
    p50: Duration,
    p95: Duration,
    cards: usize,
    page_raw: usize,
    page_gzip: usize,
    assets_gzip: usize,
}

async fn get(app: &axum::Router, path: &str, cookie: &str) -> (StatusCode, Vec<u8>, bool) {
    let request = Request::builder()
        .uri(path)
        .header("cookie", cookie)
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let gzip = response
        .headers()
        .get("content-encoding")
        .is_some_and(|v| v == "gzip");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec(), gzip)
}

async fn measure(backend: Backend, tasks: i64) -> Figures {
    let store = TestStore::new(backend).await;
    let (owner, project) = taskflow_bench::owner_and_project(&store, false).await;
    let filled = fill(&store, project.id, owner.id.0, tasks).await;
    println!(
        "{backend:?}: filled {tasks} tasks in {:.1} s",
        filled.as_secs_f64()
    );
    let secret = TokenSecret::generate();
    store
        .create_session(NewSession {
            user_id: owner.id,
            hash: secret.hash(),
            csrf_token: csrf_token(),
            expires_at: Timestamp::now().saturating_add(Duration::from_secs(3600)),
        })
        .await
        .unwrap();
    let cookie = format!("taskflow_session={}", secret.expose());
    let app = taskflow_server::app(taskflow_server::AppState::new(
        store.store.clone(),
        store.data_dir.clone(),
    ));

    // What a browser receives the first time: the page, then each asset it links to.
    let (status, page, gzip) = get(&app, "/p/BIG", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(gzip, "the page is sent compressed");
    let plain = {
        let request = Request::builder()
            .uri("/p/BIG")
            .header("cookie", &cookie)
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        response.into_body().collect().await.unwrap().to_bytes()
    };
    let html = String::from_utf8_lossy(&plain).into_owned();
    let cards = html.matches(r#"<li class="card-item"#).count();
    assert_eq!(cards, 150, "3 columns × 50 cards");
    let mut assets_gzip = 0;
    for link in html
        .split("src=\"")
        .skip(1)
        .chain(html.split("rel=\"stylesheet\" href=\"").skip(1))
    {
        let url = link.split('"').next().unwrap();
        let (status, body, gzip) = get(&app, url, &cookie).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert!(
            gzip || !url.starts_with("/assets/"),
            "{url} is sent compressed"
        );
        assets_gzip += body.len();
    }

    for _ in 0..10 {
        get(&app, "/p/BIG", &cookie).await;
    }
    let times = sample(RUNS, || async {
        let (status, _, _) = get(&app, "/p/BIG", &cookie).await;
        assert_eq!(status, StatusCode::OK);
    })
    .await;
    Figures {
        backend: match backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        },
        p50: percentile(&times, 50),
        p95: percentile(&times, 95),
        cards,
        page_raw: plain.len(),
        page_gzip: page.len(),
        assets_gzip,
    }
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

#[tokio::main]
async fn main() {
    let tasks: i64 = std::env::var("TASKFLOW_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut backends = vec![Backend::Sqlite];
    if std::env::var_os("TASKFLOW_TEST_PG_BIN").is_some() {
        backends.push(Backend::Postgres);
    }
    let mut rows = Vec::new();
    for backend in backends {
        rows.push(measure(backend, tasks).await);
    }
    println!();
    println!(
        "| backend | cards | render p50 | render p95 | page | page gzip | assets gzip | page + assets gzip |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut missed = false;
    for f in &rows {
        let total = f.page_gzip + f.assets_gzip;
        println!(
            "| {} | {} | {} ms | {} ms | {} | {} | {} | {} |",
            f.backend,
            f.cards,
            ms(f.p50),
            ms(f.p95),
            kib(f.page_raw),
            kib(f.page_gzip),
            kib(f.assets_gzip),
            kib(total)
        );
        missed |= f.p95 >= P95_TARGET || total >= WEIGHT_TARGET;
    }
    println!();
    println!("targets: render p95 < 20 ms, page + assets < 100 KiB compressed");
    if missed {
        eprintln!("a target was missed");
        std::process::exit(1);
    }
}
