use taskflow_core::Timestamp;
use taskflow_core::user::{LoginAttempt, NewSession, TokenSecret, Username, csrf_token};
use taskflow_testkit::{TestStore, both_backends, tempdir};

use crate::{clean_command, run, stderr, stdout, taskflow};

async fn migrate_is_idempotent(store: TestStore) {
    let (url, dir) = TestStore::unmigrated_url(store.backend).await;
    let first = run({
        let mut c = taskflow(&url, dir.path());
        c.arg("migrate");
        c
    })
    .await;
    assert!(first.status.success(), "{}", stderr(&first));
    let latest = store.latest_schema_version();
    assert!(
        stdout(&first).contains(&format!("from schema version 0 to {latest}")),
        "{}",
        stdout(&first)
    );
    let second = run({
        let mut c = taskflow(&url, dir.path());
        c.arg("migrate");
        c
    })
    .await;
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains(&format!("up to date (schema version {latest})")),
        "{}",
        stdout(&second)
    );
}

async fn commands_refuse_an_unmigrated_database(store: TestStore) {
    let (url, dir) = TestStore::unmigrated_url(store.backend).await;
    let mut c = taskflow(&url, dir.path());
    c.args(["user", "create", "--username", "alice"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("taskflow migrate"),
        "{}",
        stderr(&out)
    );
}

async fn user_create_prints_a_password_once_and_refuses_duplicates(store: TestStore) {
    let mut c = taskflow(&store.url, &store.data_dir);
    c.args(["user", "create", "--username", "Alice", "--admin"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password");
    let alice = store
        .user_by_username(&Username::parse("alice").unwrap())
        .await
        .unwrap();
    assert!(alice.is_admin);
    assert!(alice.password_hash.verify(password));

    let mut c = taskflow(&store.url, &store.data_dir);
    c.args(["user", "create", "--username", "alice"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("username 'alice' is already taken"),
        "{}",
        stderr(&out)
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert_eq!(
        store.user(alice.id).await.unwrap(),
        alice,
        "the existing user is untouched"
    );
}

async fn user_create_reads_a_password_file(store: TestStore) {
    let dir = tempdir();
    let file = dir.path().join("pw");
    std::fs::write(&file, "a long enough secret\n").unwrap();
    let mut c = taskflow(&store.url, &store.data_dir);
    c.args(["user", "create", "--username", "bob", "--password-file"])
        .arg(&file);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains("password:"));
    let bob = store
        .user_by_username(&Username::parse("bob").unwrap())
        .await
        .unwrap();
    assert!(bob.password_hash.verify("a long enough secret"));
    assert!(!bob.is_admin);

    std::fs::write(&file, "short\n").unwrap();
    let mut c = taskflow(&store.url, &store.data_dir);
    c.args(["user", "create", "--username", "carol", "--password-file"])
        .arg(&file);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("password"), "{}", stderr(&out));
    assert_eq!(store.count_users().await.unwrap(), 1);
}

async fn token_create_prints_a_working_token(store: TestStore) {
    let mut c = taskflow(&store.url, &store.data_dir);
    c.args(["user", "create", "--username", "alice"]);
    assert!(run(c).await.status.success());
    let mut c = taskflow(&store.url, &store.data_dir);
    c.args([
        "token",
        "create",
        "--username",
        "alice",
        "--name",
        "ci",
        "--expires-in",
        "1h",
    ]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let secret = TokenSecret::parse(stdout(&out).trim()).expect("stdout is exactly the token");
    let (user, token) = store
        .authenticate_token(&secret.hash(), Timestamp::now())
        .await
        .unwrap();
    assert_eq!(
        (user.username.as_str(), token.name.as_str()),
        ("alice", "ci")
    );
    let expires = token.expires_at.expect("an expiry");
    let in_an_hour = Timestamp::now().saturating_add(std::time::Duration::from_secs(3600));
    assert!(expires <= in_an_hour && expires > Timestamp::now());

    let mut c = taskflow(&store.url, &store.data_dir);
    c.args(["token", "create", "--username", "nobody"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no user named 'nobody'"));
}

/// `user list`, `set-password`, `disable`, `enable` and `unlock` do what they say to the
/// database a server shares.
async fn user_commands_manage_accounts(store: TestStore) {
    let cli = async |args: &[&str]| {
        let mut c = taskflow(&store.url, &store.data_dir);
        c.args(args);
        let out = run(c).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    cli(&[
        "user",
        "create",
        "--username",
        "alice",
        "--display-name",
        "Alice A.",
    ])
    .await;
    cli(&["user", "create", "--username", "root", "--admin"]).await;
    let alice_id = store
        .user_by_username(&Username::parse("alice").unwrap())
        .await
        .unwrap()
        .id;

    let listed = cli(&["user", "list"]).await;
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert!(
        lines[0].starts_with("USERNAME") && lines[0].contains("ROLE"),
        "{listed}"
    );
    assert!(
        lines[1].starts_with("alice ")
            && lines[1].contains(" user ")
            && lines[1].contains("enabled")
            && lines[1].ends_with("Alice A."),
        "{listed}"
    );
    assert!(
        lines[2].starts_with("root ") && lines[2].contains("administrator"),
        "{listed}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&cli(&["user", "list", "--json"]).await).unwrap();
    assert_eq!(json[0]["username"], "alice");
    assert!(
        json[0].get("password_hash").is_none(),
        "no hashes in the listing: {json}"
    );

    // A session to watch end.
    let session = TokenSecret::generate();
    let new_session = |hash| NewSession {
        user_id: alice_id,
        hash,
        csrf_token: csrf_token(),
        expires_at: Timestamp::now().saturating_add(std::time::Duration::from_secs(3600)),
    };
    store
        .create_session(new_session(session.hash()))
        .await
        .unwrap();
    let out = cli(&["user", "set-password", "--username", "alice"]).await;
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password, shown once");
    let alice = store.user(alice_id).await.unwrap();
    assert!(alice.password_hash.verify(password));
    assert!(
        store
            .authenticate_session(&session.hash(), Timestamp::now())
            .await
            .is_err(),
        "a new password ends the user's sessions"
    );
    let dir = tempdir();
    let file = dir.path().join("pw");
    std::fs::write(&file, "chosen by the operator\n").unwrap();
    cli(&[
        "user",
        "set-password",
        "--username",
        "alice",
        "--password-file",
        file.to_str().unwrap(),
    ])
    .await;
    assert!(
        store
            .user(alice_id)
            .await
            .unwrap()
            .password_hash
            .verify("chosen by the operator")
    );

    store
        .create_session(new_session(session.hash()))
        .await
        .unwrap();
    let out = cli(&["user", "disable", "--username", "alice"]).await;
    assert!(out.contains("disabled alice"), "{out}");
    assert!(store.user(alice_id).await.unwrap().is_disabled);
    assert!(
        store
            .authenticate_session(&session.hash(), Timestamp::now())
            .await
            .is_err()
    );
    assert!(
        cli(&["user", "list"])
            .await
            .lines()
            .nth(1)
            .unwrap()
            .contains("disabled")
    );
    cli(&["user", "enable", "--username", "alice"]).await;
    assert!(!store.user(alice_id).await.unwrap().is_disabled);
    assert!(
        store
            .authenticate_session(&session.hash(), Timestamp::now())
            .await
            .is_err(),
        "enabling does not bring back a session that disabling ended"
    );

    // Unlock clears what the throttle counted, by name (any case) or address.
    let attempt = |name: &str, address: &str| LoginAttempt {
        username: name.to_owned(),
        address: Some(address.to_owned()),
        at: Timestamp::now(),
        window: std::time::Duration::from_secs(900),
        user_limit: 20,
        address_limit: 100,
    };
    for address in ["10.0.0.1", "10.0.0.2"] {
        store
            .count_login_attempt(&attempt("alice", address))
            .await
            .unwrap();
    }
    let out = cli(&["user", "unlock", "--username", "Alice"]).await;
    assert!(
        out.contains("cleared 2 failed-login count(s) for alice"),
        "{out}"
    );
    let counts = store
        .count_login_attempt(&attempt("alice", "10.0.0.1"))
        .await
        .unwrap();
    assert_eq!((counts.user, counts.address), (1, Some(2)));
    let out = cli(&["user", "unlock", "--address", "10.0.0.1"]).await;
    assert!(
        out.contains("cleared 2 failed-login count(s) for 10.0.0.1"),
        "{out}"
    );
    let out = cli(&["user", "unlock", "--address", "10.0.0.1"]).await;
    assert!(
        out.contains("10.0.0.1 had no failed logins counted"),
        "{out}"
    );

    // Mistakes are told apart from success.
    for (args, expected) in [
        (
            vec!["user", "disable", "--username", "nobody"],
            "no user named 'nobody'",
        ),
        (vec!["user", "unlock"], "--username"),
        (
            vec!["user", "unlock", "--address", "not-an-ip"],
            "invalid value 'not-an-ip'",
        ),
    ] {
        let mut c = taskflow(&store.url, &store.data_dir);
        c.args(&args);
        let out = run(c).await;
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// A mistyped data directory is reported, never made: only `serve`, `migrate` and `restore`
/// start an installation.
async fn a_mistyped_data_dir_is_reported_not_created(store: TestStore) {
    let dir = tempdir();
    let typo = dir.path().join("taskflow-dta");
    let command = |args: &[&str]| {
        let mut c = match store.backend {
            // The default database, inside the mistyped directory.
            taskflow_testkit::Backend::Sqlite => {
                let mut c = clean_command();
                c.env("TASKFLOW_DATA_DIR", &typo);
                c
            }
            taskflow_testkit::Backend::Postgres => taskflow(&store.url, &typo),
        };
        c.args(args);
        c
    };
    let output = dir.path().join("backups");
    let output = output.to_str().unwrap();
    let mut refused = vec![
        vec!["storage"],
        vec!["gc", "--dry-run"],
        vec!["backup", "create", "--output", output],
    ];
    if store.backend == taskflow_testkit::Backend::Sqlite {
        // With PostgreSQL these need no data directory, and work.
        refused.push(vec!["token", "create", "--username", "admin"]);
        refused.push(vec!["user", "create", "--username", "alice"]);
    }
    for args in &refused {
        let out = run(command(args)).await;
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("{} does not exist", typo.display())),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!typo.exists(), "{args:?} made {}", typo.display());
    }
    assert!(
        !dir.path().join("backups").exists(),
        "a refused backup makes no output directory"
    );
}

/// The data holds password hashes and session tokens: the directory, the database and every
/// archive are for their owner only.
async fn data_and_archives_are_owner_only(store: TestStore) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let data = dir.path().join("new").join("data");
    let url = match store.backend {
        taskflow_testkit::Backend::Sqlite => format!("sqlite://{}/taskflow.db", data.display()),
        taskflow_testkit::Backend::Postgres => TestStore::unmigrated_url(store.backend).await.0,
    };
    let out = run({
        let mut c = taskflow(&url, &data);
        c.arg("migrate");
        c
    })
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(
        mode(data.parent().unwrap()),
        0o700,
        "a directory made for it"
    );
    if store.backend == taskflow_testkit::Backend::Sqlite {
        for file in ["taskflow.db", "taskflow.db-wal", "taskflow.db-shm"] {
            let path = data.join(file);
            if path.exists() || file == "taskflow.db" {
                assert_eq!(mode(&path), 0o600, "{file}");
            }
        }
    }
    let backups = dir.path().join("backups");
    let out = run({
        let mut c = taskflow(&url, &data);
        c.args(["backup", "create", "--output"]).arg(&backups);
        c
    })
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let archive = std::path::PathBuf::from(stdout(&out).trim());
    assert_eq!(mode(&backups), 0o700, "the backup directory");
    assert_eq!(mode(&archive), 0o600, "the archive");
}

/// A restore that is refused leaves nothing behind, not even the directories it made.
async fn a_refused_restore_leaves_nothing(store: TestStore) {
    let dir = tempdir();
    let data = dir.path().join("fresh");
    let damaged = dir.path().join("taskflow-20261201T000000Z.tar.zst");
    std::fs::write(&damaged, b"not an archive").unwrap();
    let url = match store.backend {
        taskflow_testkit::Backend::Sqlite => format!("sqlite://{}/taskflow.db", data.display()),
        taskflow_testkit::Backend::Postgres => TestStore::unmigrated_url(store.backend).await.0,
    };
    let out = run({
        let mut c = taskflow(&url, &data);
        c.arg("restore").arg(&damaged);
        c
    })
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("restore refused"), "{}", stderr(&out));
    assert!(!data.exists(), "a refused restore left {}", data.display());
}

both_backends!(
    migrate_is_idempotent,
    a_mistyped_data_dir_is_reported_not_created,
    data_and_archives_are_owner_only,
    a_refused_restore_leaves_nothing,
    commands_refuse_an_unmigrated_database,
    user_create_prints_a_password_once_and_refuses_duplicates,
    user_create_reads_a_password_file,
    token_create_prints_a_working_token,
    user_commands_manage_accounts,
);

#[tokio::test]
async fn bad_settings_exit_2_naming_the_setting() {
    let dir = tempdir();
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![("TASKFLOW_DATABASE_URL", "mysql://db/x".into())],
            "TASKFLOW_DATABASE_URL",
        ),
        (
            vec![("TASKFLOW_DATABASE_URL", "sqlite://".into())],
            "TASKFLOW_DATABASE_URL",
        ),
        (
            vec![
                ("TASKFLOW_DATABASE_URL", "sqlite://x.db".into()),
                ("TASKFLOW_DATABASE_URL_FILE", "/nonexistent".into()),
            ],
            "both TASKFLOW_DATABASE_URL and TASKFLOW_DATABASE_URL_FILE",
        ),
        (
            vec![("TASKFLOW_DATABASE_URL_FILE", "/nonexistent/url".into())],
            "TASKFLOW_DATABASE_URL_FILE",
        ),
        (
            vec![("TASKFLOW_LOG_FORMAT", "xml".into())],
            "TASKFLOW_LOG_FORMAT",
        ),
        (
            vec![("TASKFLOW_S3_ENDPOINT", "http://garage:3900".into())],
            "TASKFLOW_S3_ENDPOINT: set without TASKFLOW_S3_BUCKET",
        ),
        (
            vec![("TASKFLOW_S3_BUCKET", "Not_A_Bucket".into())],
            "TASKFLOW_S3_BUCKET",
        ),
        (
            vec![
                ("TASKFLOW_S3_BUCKET", "taskflow".into()),
                ("TASKFLOW_S3_ENDPOINT", "ftp://garage".into()),
            ],
            "TASKFLOW_S3_ENDPOINT",
        ),
        (
            vec![
                ("TASKFLOW_S3_BUCKET", "taskflow".into()),
                ("TASKFLOW_S3_ACCESS_KEY_ID", "GK1".into()),
            ],
            "TASKFLOW_S3_ACCESS_KEY_ID",
        ),
        (
            vec![
                ("TASKFLOW_S3_BUCKET", "taskflow/a".into()),
                ("TASKFLOW_S3_PREFIX", "b".into()),
            ],
            "TASKFLOW_S3_PREFIX",
        ),
        (
            vec![
                ("TASKFLOW_S3_BUCKET", "taskflow".into()),
                ("TASKFLOW_S3_PREFIX", "../up".into()),
            ],
            "TASKFLOW_S3_PREFIX",
        ),
    ];
    for (env, expected) in cases {
        let mut c = clean_command();
        c.arg("migrate").current_dir(dir.path());
        for (k, v) in &env {
            c.env(k, v);
        }
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(2), "{env:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(expected), "{env:?}: {err}");
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing was created"
    );
}

#[tokio::test]
async fn settings_come_from_files_and_flags_win() {
    let dir = tempdir();
    let url_file = dir.path().join("url");
    let db = dir.path().join("from-file.db");
    std::fs::write(&url_file, format!("sqlite://{}\n", db.display())).unwrap();
    // Every run works inside the temporary directory, so the default data directory
    // (./taskflow-data) never lands in the source tree.
    let mut c = clean_command();
    c.arg("migrate")
        .current_dir(dir.path())
        .env("TASKFLOW_DATABASE_URL_FILE", &url_file)
        .env("TASKFLOW_DATA_DIR", dir.path());
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(db.exists());

    let flag_db = dir.path().join("from-flag.db");
    let mut c = clean_command();
    c.arg("migrate")
        .current_dir(dir.path())
        .arg("--database-url")
        .arg(format!("sqlite://{}", flag_db.display()))
        .env("TASKFLOW_DATABASE_URL_FILE", &url_file);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(flag_db.exists());

    // The default database lives in the data directory.
    let data = dir.path().join("data");
    let mut c = clean_command();
    c.arg("migrate")
        .current_dir(dir.path())
        .env("TASKFLOW_DATA_DIR", &data);
    assert!(run(c).await.status.success());
    assert!(data.join("taskflow.db").exists());
}

#[tokio::test]
async fn config_check_shows_layers_and_redacts_secrets() {
    let dir = tempdir();
    let file = dir.path().join("taskflow.toml");
    std::fs::write(
        &file,
        "listen = \"0.0.0.0:9000\"\nshutdown_timeout = \"5s\"\ndatabase_url = \"postgres://tf:hunter2@db/x\"\nadmin_password = \"from the file 123\"\n",
    )
    .unwrap();
    let mut c = clean_command();
    c.arg("--config")
        .arg(&file)
        .args(["config", "check", "--shutdown-timeout", "2s"])
        .env("TASKFLOW_LISTEN", "127.0.0.1:7000")
        .env("TASKFLOW_S3_BUCKET", "team-files/taskflow")
        .env("TASKFLOW_S3_ENDPOINT", "http://garage:3900")
        .env("TASKFLOW_S3_ACCESS_KEY_ID", "GKexample")
        .env("TASKFLOW_S3_SECRET_ACCESS_KEY", "s3-hunter3");
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{key} =")))
            .unwrap_or_else(|| panic!("{key} missing:\n{text}"))
            .to_owned()
    };
    // defaults < file < environment < flags
    assert_eq!(
        line("data_dir"),
        "data_dir = \"./taskflow-data\"  # default"
    );
    assert!(
        line("database_url").contains("postgres://tf:***@db/x")
            && line("database_url").ends_with("taskflow.toml")
    );
    assert_eq!(
        line("listen"),
        "listen = \"127.0.0.1:7000\"  # TASKFLOW_LISTEN"
    );
    assert_eq!(
        line("shutdown_timeout"),
        "shutdown_timeout = \"2s\"  # --shutdown-timeout"
    );
    assert!(line("admin_password").contains("<redacted>"));
    assert_eq!(
        line("s3_bucket"),
        "s3_bucket = \"team-files\"  # TASKFLOW_S3_BUCKET"
    );
    assert!(line("s3_prefix").starts_with("s3_prefix = \"taskflow/\""));
    assert!(line("s3_path_style").starts_with("s3_path_style = \"true\""));
    assert!(line("s3_secret_access_key").contains("<redacted>"));
    assert!(
        !text.contains("hunter2") && !text.contains("from the file") && !text.contains("hunter3"),
        "secrets leaked:\n{text}"
    );
}

#[tokio::test]
async fn bad_config_files_exit_2_naming_the_key() {
    let dir = tempdir();
    let cases = [
        ("lisen = \"x\"\n", "lisen (in "),
        ("listen = \"nope\"\n", "listen (in "),
        ("listen = [1, 2]\n", "listen (in "),
        ("this is not toml", "--config"),
    ];
    for (content, expected) in cases {
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, content).unwrap();
        let mut c = clean_command();
        c.arg("--config").arg(&file).args(["config", "check"]);
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(2), "{content}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{content}: {}",
            stderr(&out)
        );
    }
    let mut c = clean_command();
    c.args(["--config", "/nonexistent/taskflow.toml", "config", "check"]);
    assert_eq!(run(c).await.status.code(), Some(2));
    for (flag, value) in [
        ("--cookie-secure", "maybe"),
        ("--session-ttl", "5s"),
        ("--log-format", "xml"),
        ("--metrics-listen", "nowhere"),
    ] {
        let mut c = clean_command();
        c.args(["config", "check", flag, value]);
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
    }
}
