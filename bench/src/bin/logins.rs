//! Memory under a burst of logins: password checks (argon2id, 19 MiB each) run a few at a
//! time and give their memory back, so a burst neither grows the server past its limit nor
//! leaves it bigger afterwards.
//!
//! Run: `cargo run --release -p taskflow-bench --bin logins`. It builds the release binary,
//! makes 200 users on a fresh SQLite installation, then sends bursts of 200 concurrent logins
//! (three in four with the right password, the rest wrong; each from its own client address
//! through `X-Forwarded-For` and a trusted proxy, as behind an ingress) and reads the server's
//! resident memory from `/proc`. Targets: peak under 100 MiB; after the bursts, within 10 MiB
//! of the idle figure.

use std::time::{Duration, Instant};

use taskflow_bench::{Server, mib, taskflow, taskflow_binary};

const USERS: usize = 200;
const BURSTS: usize = 4;

fn main() {
    let binary = taskflow_binary();
    let dir = tempfile_dir();
    let env = vec![
        ("TASKFLOW_DATA_DIR", dir.display().to_string()),
        ("TASKFLOW_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
        ("TASKFLOW_GC_INTERVAL", "off".to_owned()),
    ];
    taskflow(&binary, &env, &["migrate"]);
    let password_file = dir.join("admin-password");
    std::fs::write(&password_file, "an admin password\n").unwrap();
    let password_path = password_file.display().to_string();
    taskflow(
        &binary,
        &env,
        &[
            "user",
            "create",
            "--username",
            "admin",
            "--admin",
            "--password-file",
            &password_path,
        ],
    );
    let token = taskflow(&binary, &env, &["token", "create", "--username", "admin"])
        .lines()
        .find_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("tf_"))
                .map(str::to_owned)
        })
        .expect("token create prints the token");

    let server = Server::start(&binary, &env);
    std::thread::sleep(Duration::from_millis(500));
    let idle = server.memory_kib("VmRSS");
    let auth = format!("Bearer {token}");
    let created = Instant::now();
    let everyone: Vec<usize> = (0..USERS).collect();
    std::thread::scope(|scope| {
        for chunk in everyone.chunks(USERS / 4) {
            let (server, auth) = (&server, &auth);
            scope.spawn(move || {
                for i in chunk {
                    let body =
                        format!(r#"{{"username":"user{i}","password":"password of user {i}"}}"#);
                    let (status, answer) = server.request(
                        "POST",
                        "/api/v1/users",
                        &[
                            ("Authorization", auth),
                            ("Content-Type", "application/json"),
                        ],
                        &body,
                    );
                    assert_eq!(status, 201, "creating user{i}: {answer}");
                }
            });
        }
    });
    let after_users = server.memory_kib("VmRSS");
    println!(
        "created {USERS} users in {:.1} s; resident memory idle {}, after creating them {}",
        created.elapsed().as_secs_f64(),
        mib(idle),
        mib(after_users)
    );

    let mut rows = Vec::new();
    for burst in 0..BURSTS {
        let started = Instant::now();
        let peak = std::sync::atomic::AtomicU64::new(0);
        let done = std::sync::atomic::AtomicBool::new(false);
        let answers = std::thread::scope(|scope| {
            let sampler = scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    peak.fetch_max(
                        server.memory_kib("VmRSS"),
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
            let logins: Vec<_> = (0..USERS)
                .map(|i| {
                    let server = &server;
                    scope.spawn(move || {
                        let password = if i % 4 == 3 {
                            "a wrong password".to_owned()
                        } else {
                            format!("password of user {i}")
                        };
                        let body = format!(r#"{{"username":"user{i}","password":"{password}"}}"#);
                        let client = format!("10.{burst}.{}.{}", i / 250, i % 250 + 1);
                        server
                            .request(
                                "POST",
                                "/api/v1/auth/login",
                                &[
                                    ("Content-Type", "application/json"),
                                    ("X-Forwarded-For", &client),
                                ],
                                &body,
                            )
                            .0
                    })
                })
                .collect();
            let answers: Vec<u16> = logins.into_iter().map(|l| l.join().unwrap()).collect();
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            sampler.join().unwrap();
            answers
        });
        let ok = answers.iter().filter(|s| **s == 200).count();
        let refused = answers.iter().filter(|s| **s == 401).count();
        assert_eq!(
            (ok, refused),
            (USERS * 3 / 4, USERS / 4),
            "every right password logs in and every wrong one is refused"
        );
        rows.push((burst + 1, started.elapsed(), peak.into_inner()));
    }
    std::thread::sleep(Duration::from_secs(2));
    let after = server.memory_kib("VmRSS");
    let high_water = server.memory_kib("VmHWM");

    println!();
    println!("| burst | 200 logins took | peak resident memory during it |");
    println!("|---|---|---|");
    for (burst, took, peak) in &rows {
        println!("| {burst} | {:.2} s | {} |", took.as_secs_f64(), mib(*peak));
    }
    println!();
    println!(
        "idle {} → high-water mark {} → 2 s after the last burst {}",
        mib(idle),
        mib(high_water),
        mib(after)
    );
    let peak_ok = high_water < 100 * 1024;
    let back_ok = after <= idle + 10 * 1024;
    println!(
        "peak under 100 MiB: {}; back within 10 MiB of idle: {}",
        if peak_ok { "yes" } else { "NO" },
        if back_ok { "yes" } else { "NO" }
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    if !(peak_ok && back_ok) {
        std::process::exit(1);
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("taskflow-bench-logins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
