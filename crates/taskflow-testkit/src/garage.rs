//! A throwaway S3 server for tests: Garage, one node, in a temporary directory.
//!
//! Started from the `garage` binary (`TASKFLOW_TEST_GARAGE`, else `PATH`, else
//! `~/.cargo/bin/garage`; the test script installs it), listening on free ports on 127.0.0.1
//! only, with `data_fsync` and `metadata_fsync` on. One bucket and one key with read, write and
//! owner rights on it; each test takes a prefix of its own, so tests share the server without
//! seeing each other's objects. Requests are SigV4-signed as against AWS. A detached reaper
//! kills the server and removes its directory as soon as the test process ends, however it
//! ends.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use taskflow_blobs::S3Config;

pub const BUCKET: &str = "taskflow";
pub const REGION: &str = "garage";

pub struct Garage {
    root: PathBuf,
    config: PathBuf,
    bin: PathBuf,
    s3_port: u16,
    key_id: String,
    secret: String,
    child: Mutex<Option<Child>>,
    private: bool,
}

fn fail(msg: impl std::fmt::Display) -> ! {
    panic!("Garage test server: {msg}")
}

/// The `garage` binary: `TASKFLOW_TEST_GARAGE`, else on `PATH`, else `~/.cargo/bin/garage`.
pub fn garage_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("TASKFLOW_TEST_GARAGE") {
        return PathBuf::from(bin);
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("garage"))
                .collect()
        })
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/garage"));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            fail(
                "the garage binary was not found (TASKFLOW_TEST_GARAGE, PATH, ~/.cargo/bin); \
                 ./scripts/test.sh installs it with `cargo install garage --locked --version 2.5.0`",
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| fail(format!("no free port: {e}")))
}

/// Runs `garage -c CONFIG ARGS…`; its standard output, or `Err` with what it printed.
fn cli(bin: &Path, config: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .arg("-c")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!(
            "garage {}: {text}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Retries `garage ARGS` for up to 30 s (the node takes a moment to answer after starting, and
/// the bucket table after the layout is applied).
fn cli_retrying(bin: &Path, config: &Path, args: &[&str]) -> String {
    let start = Instant::now();
    loop {
        match cli(bin, config, args) {
            Ok(out) => return out,
            Err(e) if start.elapsed() > Duration::from_secs(30) => fail(e),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// The value after `label` on one of `text`'s lines (`Key ID:   GK…`).
fn field(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_owned()))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| fail(format!("no {label:?} in:\n{text}")))
}

impl Garage {
    /// The server shared by every test in this process, started on first use.
    pub fn shared() -> &'static Garage {
        static SERVER: OnceLock<Garage> = OnceLock::new();
        SERVER.get_or_init(|| Garage::start(false))
    }

    /// A server of the caller's own, for a test that stops and starts it; stopped and removed
    /// when dropped (or with the process).
    pub fn private() -> Garage {
        Garage::start(true)
    }

    fn start(private: bool) -> Garage {
        let bin = garage_bin();
        let root = tempfile::Builder::new()
            .prefix("taskflow-garage-")
            .tempdir()
            .unwrap_or_else(|e| fail(format!("cannot make a temporary directory: {e}")))
            .keep();
        let (s3_port, rpc_port, admin_port) = (free_port(), free_port(), free_port());
        let secret: String = (0..4)
            .map(|_| format!("{:016x}", rand_u64()))
            .collect::<String>();
        let config = root.join("garage.toml");
        std::fs::write(
            &config,
            format!(
                r#"metadata_dir = "{root}/meta"
data_dir = "{root}/data"
db_engine = "sqlite"
replication_factor = 1
data_fsync = true
metadata_fsync = true
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"

[admin]
api_bind_addr = "127.0.0.1:{admin_port}"
admin_token = "{secret}"
"#,
                root = root.display()
            ),
        )
        .unwrap_or_else(|e| fail(format!("cannot write {}: {e}", config.display())));
        let mut garage = Garage {
            root,
            config,
            bin,
            s3_port,
            key_id: String::new(),
            secret: String::new(),
            child: Mutex::new(None),
            private,
        };
        garage.launch();
        spawn_reaper(&garage.root, garage.pid());
        let (bin, config) = (&garage.bin, &garage.config);
        let id = cli_retrying(bin, config, &["node", "id", "-q"]);
        let id = id.trim().split('@').next().unwrap_or_default().to_owned();
        cli_retrying(
            bin,
            config,
            &["layout", "assign", "-z", "dc1", "-c", "1G", &id],
        );
        cli_retrying(bin, config, &["layout", "apply", "--version", "1"]);
        cli_retrying(bin, config, &["bucket", "create", BUCKET]);
        let key = cli_retrying(bin, config, &["key", "create", "taskflow-tests"]);
        let (key_id, secret) = (field(&key, "Key ID:"), field(&key, "Secret key:"));
        cli_retrying(
            bin,
            config,
            &[
                "bucket",
                "allow",
                "--read",
                "--write",
                "--owner",
                BUCKET,
                "--key",
                "taskflow-tests",
            ],
        );
        garage.key_id = key_id;
        garage.secret = secret;
        garage
    }

    fn launch(&self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("server.log"))
            .unwrap_or_else(|e| fail(format!("cannot open the server log: {e}")));
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(&self.config)
            .arg("server")
            .env("RUST_LOG", "garage=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("a log file handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| fail(format!("cannot start {}: {e}", self.bin.display())));
        *self.child.lock().expect("not poisoned") = Some(child);
    }

    fn pid(&self) -> u32 {
        self.child
            .lock()
            .expect("not poisoned")
            .as_ref()
            .map(Child::id)
            .unwrap_or(0)
    }

    /// Kills the server (SIGKILL): the store is down until `start_again`.
    pub fn kill(&self) {
        if let Some(mut child) = self.child.lock().expect("not poisoned").take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): it keeps its connections and answers nothing until
    /// `thaw`, as a hung store does.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server go on (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, which: &str) {
        let pid = self.pid();
        assert!(pid != 0, "garage is not running");
        let status = Command::new("kill")
            .args([which, &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {which} {pid} failed");
    }

    /// Starts the server again on the same ports and data, after `kill`, and waits until it
    /// answers S3 requests.
    pub fn start_again(&self) {
        self.launch();
        spawn_reaper(&self.root, self.pid());
        cli_retrying(&self.bin, &self.config, &["bucket", "info", BUCKET]);
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// Where a test keeps its objects: the bucket under `prefix`, with the key's credentials.
    pub fn config(&self, prefix: &str) -> S3Config {
        S3Config {
            endpoint: Some(self.endpoint()),
            region: REGION.to_owned(),
            bucket: BUCKET.to_owned(),
            prefix: taskflow_blobs::normalise_prefix(prefix).expect("a valid prefix"),
            path_style: true,
            access_key_id: Some(self.key_id.clone()),
            secret_access_key: Some(self.secret.clone()),
            timeouts: taskflow_blobs::S3Timeouts::default(),
        }
    }

    /// A prefix no other test in any process uses.
    pub fn unique_config(&self) -> S3Config {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        self.config(&format!("t{}-{n}-{:x}", std::process::id(), rand_u64()))
    }

    /// The settings that point a `taskflow` process at `config`.
    pub fn env(config: &S3Config) -> Vec<(String, String)> {
        let mut env = vec![
            ("TASKFLOW_S3_BUCKET".to_owned(), config.bucket.clone()),
            ("TASKFLOW_S3_PREFIX".to_owned(), config.prefix.clone()),
            ("TASKFLOW_S3_REGION".to_owned(), config.region.clone()),
            (
                "TASKFLOW_S3_PATH_STYLE".to_owned(),
                config.path_style.to_string(),
            ),
        ];
        if let Some(endpoint) = &config.endpoint {
            env.push(("TASKFLOW_S3_ENDPOINT".to_owned(), endpoint.clone()));
        }
        if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
            env.push(("TASKFLOW_S3_ACCESS_KEY_ID".to_owned(), id.clone()));
            env.push(("TASKFLOW_S3_SECRET_ACCESS_KEY".to_owned(), secret.clone()));
        }
        env
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        if self.private {
            self.kill();
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A detached shell that waits for this process to end, then kills the server `pid` (if it is
/// still this server: its command line names this config) and deletes `root`.
fn spawn_reaper(root: &Path, pid: u32) {
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.2; done; \
         tr '\\0' ' ' < /proc/{pid}/cmdline 2>/dev/null | grep -qF '{root}/garage.toml' && kill -9 {pid}; \
         rm -rf '{root}'",
        me = std::process::id(),
        root = root.display()
    );
    let status = Command::new("setsid")
        .args(["--fork", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| fail(format!("cannot start the cleanup process: {e}")));
    if !status.success() {
        fail(format!("cannot start the cleanup process: setsid {status}"));
    }
}
