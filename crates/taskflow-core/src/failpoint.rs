//! Named pause points for crash tests.
//!
//! When `TASKFLOW_FAILPOINT=<name>[@<n>]` is set, the `n`-th time (default: first) execution
//! reaches `failpoint(<name>)` the process writes `failpoint <name> reached` to stderr and waits
//! forever, so a test can SIGKILL it at exactly that point (inside an open transaction, say).
//! Unset, a failpoint costs one atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Armed {
    name: String,
    nth: u64,
    hits: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var("TASKFLOW_FAILPOINT").ok()?;
            let (name, nth) = match spec.split_once('@') {
                Some((name, n)) => (name.to_owned(), n.parse().ok()?),
                None => (spec, 1),
            };
            Some(Armed {
                name,
                nth,
                hits: AtomicU64::new(0),
            })
        })
        .as_ref()
}

fn reached(name: &str) -> bool {
    let Some(armed) = armed() else { return false };
    if armed.name != name {
        return false;
    }
    let hit = armed.hits.fetch_add(1, Ordering::SeqCst) + 1 == armed.nth;
    if hit {
        eprintln!("failpoint {name} reached");
    }
    hit
}

pub async fn failpoint(name: &str) {
    if reached(name) {
        std::future::pending::<()>().await;
    }
}

/// `failpoint` for blocking code: the thread sleeps forever.
pub fn failpoint_blocking(name: &str) {
    if reached(name) {
        loop {
            std::thread::park();
        }
    }
}
