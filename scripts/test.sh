#!/usr/bin/env bash
# Runs every check and test Taskflow has, from a fresh clone on Debian with the Rust toolchain.
# It installs what the tests need when it is missing (PostgreSQL's server binaries, for the
# temporary clusters the tests make), idempotently, and stops loudly when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nerror: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $* (no sudo found)"
    fi
}

command -v cargo >/dev/null || die "cargo is not installed: install the Rust toolchain (rustup.rs)"
cargo fmt --version >/dev/null 2>&1 || die "rustfmt is missing: rustup component add rustfmt"
cargo clippy --version >/dev/null 2>&1 || die "clippy is missing: rustup component add clippy"

# PostgreSQL: the tests start their own throwaway cluster with initdb/pg_ctl; Debian keeps
# them in /usr/lib/postgresql/<version>/bin.
pg_bin() {
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"; return 0
    fi
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
    return 1
}
if ! pg_bin >/dev/null; then
    step "installing PostgreSQL (apt-get install postgresql)"
    as_root apt-get update -qq || die "apt-get update failed"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
        || die "could not install the postgresql package"
    pg_bin >/dev/null || die "postgresql installed, but initdb/pg_ctl are still not found"
fi
export TASKFLOW_TEST_PG_BIN="${TASKFLOW_TEST_PG_BIN:-$(pg_bin)}"
if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root; the tests run it as the postgres user.
    id postgres >/dev/null 2>&1 || die "running as root, but there is no postgres user to run the server as"
    command -v runuser >/dev/null || die "runuser (util-linux) is needed to run PostgreSQL as the postgres user"
fi
command -v setsid >/dev/null || die "setsid (util-linux) is needed to clean up test clusters"
echo "PostgreSQL server binaries: $TASKFLOW_TEST_PG_BIN ($("$TASKFLOW_TEST_PG_BIN/pg_ctl" --version))"

step "formatting (cargo fmt --check)"
cargo fmt --all --check

step "lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests (both database backends)"
cargo test --workspace --locked
