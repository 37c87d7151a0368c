//! The operator docs hold: every command `--help` lists is documented, the cron recipe for
//! backups works as written, and the systemd unit shipped in the repository is valid and
//! locked down.

use std::path::{Path, PathBuf};

use crate::{BIN, run, stderr, stdout, taskflow};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repository().join(relative))
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The subcommands a `--help` lists under "Commands:", `help` left out.
async fn commands(args: &[&str]) -> Vec<String> {
    let mut cmd = crate::clean_command();
    cmd.args(args).arg("--help");
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command and subcommand of `taskflow --help` has a section of `docs/cli.md`.
#[tokio::test]
async fn every_command_is_in_the_command_line_docs() {
    let docs = read("docs/cli.md");
    let headings: Vec<&str> = docs.lines().filter(|l| l.starts_with("## ")).collect();
    let mut missing = Vec::new();
    let mut checked = 0;
    for command in commands(&[]).await {
        let subcommands = commands(&[&command]).await;
        let names: Vec<String> = if subcommands.is_empty() {
            vec![format!("taskflow {command}")]
        } else {
            subcommands
                .iter()
                .map(|sub| format!("taskflow {command} {sub}"))
                .collect()
        };
        for name in names {
            checked += 1;
            // `## `taskflow user disable …` and `taskflow user enable …`` documents both.
            let documented = headings
                .iter()
                .any(|h| h.contains(&format!("`{name}`")) || h.contains(&format!("`{name} ")));
            if !documented {
                missing.push(name);
            }
        }
    }
    assert!(checked >= 15, "the help listed {checked} commands");
    assert!(
        missing.is_empty(),
        "docs/cli.md has no section for {missing:?}"
    );
}

/// The backup recipe for cron in `docs/backup-restore.md`, run as written: its variables and
/// its command line in a shell started from a home directory elsewhere with nothing else in
/// the environment, as cron does. The archive is made and the old ones are pruned.
#[tokio::test]
async fn the_cron_recipe_backs_up_and_prunes_as_written() {
    let docs = read("docs/backup-restore.md");
    let recipe = docs
        .split("<!-- cron recipe: begin")
        .nth(1)
        .and_then(|rest| rest.split("<!-- cron recipe: end -->").next())
        .expect("docs/backup-restore.md marks its cron recipe");
    let lines: Vec<&str> = recipe
        .lines()
        .filter(|l| {
            !l.is_empty() && !l.starts_with("```") && !l.starts_with("<!--") && !l.contains("-->")
        })
        .collect();
    let dir = taskflow_testkit::tempdir();
    let root = dir.path();
    let bin = root.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("taskflow")).unwrap();
    let home = root.join("home");
    std::fs::create_dir(&home).unwrap();
    // The recipe's paths, moved under this test's directory.
    let here = |text: &str| {
        text.replace("/srv/taskflow", &root.join("srv").display().to_string())
            .replace("/usr/local/bin", &bin.display().to_string())
    };
    let mut env = Vec::new();
    let mut command = None;
    for line in &lines {
        match line.split_once('=') {
            Some((name, value)) if !name.contains(' ') => env.push((name.to_owned(), here(value))),
            _ => {
                let fields: Vec<&str> = line.splitn(6, char::is_whitespace).collect();
                assert_eq!(fields.len(), 6, "a crontab line: {line}");
                command = Some(here(fields[5].trim()));
            }
        }
    }
    let command = command.expect("the recipe has a crontab line");
    let value = |name: &str| {
        env.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| PathBuf::from(v))
            .unwrap_or_else(|| panic!("the recipe sets {name}"))
    };
    let (data, backups) = (value("TASKFLOW_DATA_DIR"), value("TASKFLOW_BACKUP_DIR"));
    // An installation with something in it, and archives from months ago.
    let url = format!("sqlite://{}/taskflow.db", data.display());
    let mut migrate = taskflow(&url, &data);
    migrate.arg("migrate");
    let out = run(migrate).await;
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::create_dir_all(&backups).unwrap();
    // One a day from the 1st to the 20th of August 2026.
    let old: Vec<String> = (1..=20)
        .map(|day| format!("taskflow-202608{day:02}T021500Z.tar.zst"))
        .collect();
    let mut backup = taskflow(&url, &data);
    backup.args(["backup", "create", "--output"]).arg(&backups);
    let out = run(backup).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let made = PathBuf::from(stdout(&out).trim());
    for name in &old {
        std::fs::copy(&made, backups.join(name)).unwrap();
    }
    std::fs::remove_file(&made).unwrap();

    let out = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&command)
        .env_clear()
        .env("HOME", &home)
        .env("SHELL", "/bin/sh")
        .env("LOGNAME", "taskflow")
        .envs(env.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .current_dir(&home)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "the recipe failed: {command}\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    let mut left: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    // --keep-daily 7: the new one and the 15th to the 20th; --keep-weekly 4 adds the newest of
    // the week of the 3rd to the 9th. The rest went.
    let mut expected: Vec<String> = [9, 15, 16, 17, 18, 19, 20]
        .iter()
        .map(|day| format!("taskflow-202608{day:02}T021500Z.tar.zst"))
        .collect();
    let new = left
        .iter()
        .find(|name| !old.contains(name))
        .expect("the recipe made an archive")
        .clone();
    expected.push(new);
    expected.sort();
    assert_eq!(left, expected, "what prune kept");
    assert!(
        std::fs::read_dir(&home).unwrap().next().is_none(),
        "nothing was made in the home directory"
    );
}

/// `dist/taskflow.service` passes `systemd-analyze verify`, runs as its own user with the
/// system read-only and the data directory writable, and `systemd-analyze security` rates it
/// well exposed no more than 2.
#[tokio::test]
async fn the_systemd_unit_is_valid_and_locked_down() {
    let unit = read("dist/taskflow.service");
    let setting = |name: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("the unit sets no {name}"))
            .to_owned()
    };
    assert_eq!(setting("User"), "taskflow");
    assert_eq!(setting("ProtectSystem"), "strict");
    assert_eq!(setting("StateDirectory"), "taskflow");
    assert_eq!(setting("NoNewPrivileges"), "yes");
    assert!(unit.contains("Environment=TASKFLOW_DATA_DIR=/var/lib/taskflow"));
    let analyze = which("systemd-analyze")
        .expect("systemd-analyze is needed to check the systemd unit (apt-get install systemd)");
    // The copy runs the test binary, which exists here.
    let dir = taskflow_testkit::tempdir();
    let copy = dir.path().join("taskflow.service");
    std::fs::write(&copy, unit.replace("/usr/local/bin/taskflow", BIN)).unwrap();
    let out = tokio::process::Command::new(&analyze)
        .arg("verify")
        .arg(&copy)
        .output()
        .await
        .unwrap();
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "systemd-analyze verify: {said}");
    let out = tokio::process::Command::new(&analyze)
        .args(["security", "--offline=true", "--threshold=20"])
        .arg(&copy)
        .output()
        .await
        .unwrap();
    let report = stdout(&out);
    let exposure: f64 = report
        .lines()
        .find_map(|l| l.split("exposure level for taskflow.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{report}{}", stderr(&out)));
    assert!(exposure <= 2.0, "exposure {exposure}:\n{report}");
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file())
}
