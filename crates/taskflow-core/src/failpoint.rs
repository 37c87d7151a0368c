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

pub async fn failpoint(name: &str) {
    let Some(armed) = armed() else { return };
    if armed.name != name {
        return;
    }
    if armed.hits.fetch_add(1, Ordering::SeqCst) + 1 == armed.nth {
        eprintln!("failpoint {name} reached");
        std::future::pending::<()>().await;
    }
}
