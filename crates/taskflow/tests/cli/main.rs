//! The real `taskflow` binary, run as a child process against both backends.

mod attachments;
mod backup;
mod browser;
mod commands;
mod crash;
mod docs;
mod doctor;
mod hardening;
mod outage;
mod replicas;
mod serve;

use std::process::Output;

use tokio::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_taskflow");

/// The binary with none of this process's `TASKFLOW_*` variables, killed if dropped.
pub fn clean_command() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TASKFLOW_") {
            cmd.env_remove(key);
        }
    }
    cmd.kill_on_drop(true);
    cmd
}

/// The binary with a clean environment pointing at `url` and `data_dir`.
pub fn taskflow(url: &str, data_dir: &std::path::Path) -> Command {
    let mut cmd = clean_command();
    cmd.env("TASKFLOW_DATABASE_URL", url)
        .env("TASKFLOW_DATA_DIR", data_dir);
    cmd
}

pub async fn run(mut cmd: Command) -> Output {
    cmd.output().await.expect("run taskflow")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
