//! The `taskflow` command: parses the command line and settings, then hands over to a command.

mod cli;
mod commands;
mod config;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    let cli = cli::Cli::parse();
    let settings = match config::Settings::resolve(&cli.global) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("taskflow: {err}");
            return ExitCode::from(2);
        }
    };
    commands::init_tracing(&settings, &cli.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("taskflow: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("taskflow: {}", err.message);
            ExitCode::from(err.status)
        }
    }
}

/// glibc's allocator raises its threshold for serving large blocks from fresh mappings each
/// time one is freed, and then keeps what it served from its arenas: every password check
/// (19 MiB for argon2id) would stay part of the process after the login is done, one arena
/// per worker thread. Fixing the threshold at 256 KiB gives every block that large back to
/// the system when it is freed (an upload's 256 KiB batch is one, once per upload), so memory
/// returns to idle after a burst of logins or uploads.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn return_large_blocks_to_the_system() {
    // SAFETY: `mallopt` only changes a tuning parameter of the allocator; it is called once,
    // before any other thread exists, with a parameter and value glibc documents.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}
