//! Named pause points for crash tests.
//!
//! When `TASKFLOW_FAILPOINT=<name>[@<n>][+<seconds>]` is set, the `n`-th time (default: first)
//! execution reaches `failpoint(<name>)` the process writes `failpoint <name> reached` to stderr
//! and waits: forever, so a test can SIGKILL it at exactly that point (inside an open
//! transaction, say), or for `<seconds>` and then goes on, so a test can take something away
//! (the database) meanwhile. Unset, a failpoint costs one atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

struct Armed {
    name: String,
    nth: u64,
    /// How long to wait when reached; forever when `None`.
    pause: Option<std::time::Duration>,
    hits: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var("TASKFLOW_FAILPOINT").ok()?;
            let (spec, pause) = match spec.split_once('+') {
                Some((spec, secs)) => (
                    spec.to_owned(),
                    Some(std::time::Duration::from_secs_f64(secs.parse().ok()?)),
                ),
                None => (spec, None),
            };
            let (name, nth) = match spec.split_once('@') {
                Some((name, n)) => (name.to_owned(), n.parse().ok()?),
                None => (spec, 1),
            };
            Some(Armed {
                name,
                nth,
                pause,
                hits: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Whether this is the armed hit of `name`; with how long to wait (`None`: forever).
fn reached(name: &str) -> Option<Option<std::time::Duration>> {
    let armed = armed()?;
    if armed.name != name {
        return None;
    }
    let hit = armed.hits.fetch_add(1, Ordering::SeqCst) + 1 == armed.nth;
    if hit {
        eprintln!("failpoint {name} reached");
    }
    hit.then_some(armed.pause)
}

pub async fn failpoint(name: &str) {
    match reached(name) {
        Some(Some(pause)) => tokio::time::sleep(pause).await,
        Some(None) => std::future::pending::<()>().await,
        None => {}
    }
}

/// `failpoint` for blocking code: the thread sleeps forever.
pub fn failpoint_blocking(name: &str) {
    match reached(name) {
        Some(Some(pause)) => std::thread::sleep(pause),
        Some(None) => loop {
            std::thread::park();
        },
        None => {}
    }
}
