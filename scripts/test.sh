#!/usr/bin/env bash
# The one test command:  bash scripts/test.sh   (CI runs it through .ci/run)
#
# Works on a fresh Debian machine as root: installs what is missing (quietly,
# idempotently), then runs, stopping at the first failing stage:
#   1. Rust unit/integration tests   (cargo nextest, else cargo test)
#   2. cargo clippy -D warnings, cargo build --release -p dialtone
#   3. real-client acceptance tests  (tests/clients/run.sh sqlite, postgres)
#   4. browser tests                 (tests/browser/run.sh: Debian's chromium driven
#                                     by playwright-core against a real server)
# and ends with a line "stages: N passed, N failed".
#
# Environment (all optional):
#   DIALTONE_TARGET_DIR  cargo target dir (default ~/.cache/dialtone/target, so a
#                        fresh clone, e.g. CI's, reuses the previous build)
#   DIALTONE_CACHE_DIR   cache for the Python venv and logs (default ~/.cache/dialtone)
#   DIALTONE_TEST_PG     admin URL of the test PostgreSQL
#                        (default postgres://postgres@127.0.0.1:5432/postgres);
#                        the Rust tests and the client run create databases there
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

CACHE=${DIALTONE_CACHE_DIR:-$HOME/.cache/dialtone}
LOGS=$CACHE/logs
mkdir -p "$LOGS"
export CARGO_TARGET_DIR=${DIALTONE_TARGET_DIR:-$HOME/.cache/dialtone/target}
PG_DEFAULT=postgres://postgres@127.0.0.1:5432/postgres
export DIALTONE_TEST_PG=${DIALTONE_TEST_PG:-$PG_DEFAULT}
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}
VENV=$CACHE/venv-clients
NODE_DIR=$ROOT/tests/clients/node
BROWSER_DIR=$ROOT/tests/browser
PY_REQ=$ROOT/tests/clients/python/requirements.txt

# rustup's cargo may not be on PATH in a non-login shell
if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi

PASSED=0
FAILED=0

say() { printf '==> %s\n' "$*"; }
summary() { printf 'stages: %d passed, %d failed\n' "$PASSED" "$FAILED"; }

# stage NAME COMMAND [ARGS...]: run one stage with errexit in force inside it
# (a function called from `if` would run with -e silently off), count it, and
# stop everything at the first failure, naming the stage.
stage() {
  local name=$1 rc start=$SECONDS
  shift
  say "$name"
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  if ((rc == 0)); then
    PASSED=$((PASSED + 1))
    say "$name: ok ($((SECONDS - start))s)"
  else
    FAILED=$((FAILED + 1))
    printf '==> FAILED at stage "%s" (exit %d, after %ds)\n' "$name" "$rc" "$((SECONDS - start))" >&2
    summary
    exit 1
  fi
}

# run_logged LOGNAME COMMAND...: quiet unless it fails, then show the log tail
run_logged() {
  local log=$LOGS/$1.log
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "command failed: $*  (log: $log)" >&2
    tail -n 60 "$log" >&2
    return 1
  fi
}

sha() { cat "$@" | sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------- setup

APT_UPDATED=
apt_install() {
  (($# > 0)) || return 0
  command -v apt-get >/dev/null || {
    echo "missing: $* (and no apt-get to install them)" >&2
    return 1
  }
  [[ $(id -u) -eq 0 ]] || {
    echo "missing: $*; run as root or install them: apt-get install $*" >&2
    return 1
  }
  if [[ -z "$APT_UPDATED" ]]; then
    run_logged apt-update apt-get update -qq
    APT_UPDATED=1
  fi
  echo "installing: $*"
  DEBIAN_FRONTEND=noninteractive run_logged apt-install \
    apt-get install -y -qq --no-install-recommends "$@"
}

pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true; }
pg_local_answers() { pg_isready -h 127.0.0.1 -p 5432 -q -t 2 >/dev/null 2>&1; }
pg_access_ok() { psql "$DIALTONE_TEST_PG" -X -w -Atqc 'select 1' >/dev/null 2>&1; }

setup_system() {
  command -v cargo >/dev/null || {
    echo "cargo not found: install Rust with rustup (the workspace needs Rust >= 1.85)" >&2
    return 1
  }
  local missing=()
  command -v python3 >/dev/null || missing+=(python3)
  # Debian's python3 makes venvs with pip only once python3-venv is installed
  if command -v python3 >/dev/null && ! venv_ready && ! venv_works; then
    missing+=(python3-venv)
  fi
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  command -v psql >/dev/null && command -v pg_isready >/dev/null || missing+=(postgresql-client)
  # the SIP edge's tests run real sipp peers (crates/dialtone/tests/sip.rs)
  command -v sipp >/dev/null || missing+=(sip-tester)
  # the browser suite drives Debian's chromium (never a downloaded browser)
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  if [[ "$DIALTONE_TEST_PG" == "$PG_DEFAULT" ]] && ! pg_local_answers &&
    ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
    missing+=(postgresql)
  fi
  apt_install "${missing[@]}"

  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' || {
    echo "node $(node --version) is too old: the client tests need Node >= 18" >&2
    return 1
  }

  if [[ "$DIALTONE_TEST_PG" != "$PG_DEFAULT" ]]; then
    pg_access_ok || {
      echo "cannot connect to DIALTONE_TEST_PG=$DIALTONE_TEST_PG" >&2
      return 1
    }
    return 0
  fi

  # A PostgreSQL server on 127.0.0.1:5432 where user postgres gets in without a
  # password (the machine image has one; a fresh Debian gets Debian's).
  local ver=
  if ! pg_local_answers; then
    ver=$(pg_version)
    [[ -n "$ver" ]] || {
      echo "postgresql is installed but has no cluster under /etc/postgresql" >&2
      return 1
    }
    echo "starting PostgreSQL $ver/main"
    run_logged pg-start pg_ctlcluster --skip-systemctl-redirect "$ver" main start
    local deadline=$((SECONDS + 30))
    until pg_local_answers; do
      ((SECONDS < deadline)) || {
        echo "PostgreSQL did not answer on 127.0.0.1:5432 within 30s" >&2
        return 1
      }
      sleep 0.5
    done
  fi
  if ! pg_access_ok; then
    [[ -n "$ver" ]] || ver=$(pg_version)
    local hba=/etc/postgresql/$ver/main/pg_hba.conf
    [[ -n "$ver" && -w "$hba" ]] || {
      echo "user postgres cannot connect to 127.0.0.1:5432 without a password, and there is no local pg_hba.conf to fix" >&2
      return 1
    }
    echo "allowing user postgres from 127.0.0.1 without a password (trust) in $hba"
    {
      echo "# added by dialtone scripts/test.sh: passwordless test access"
      echo "host all postgres 127.0.0.1/32 trust"
      echo "host all postgres ::1/128 trust"
      cat "$hba"
    } >"$hba.new"
    chown --reference="$hba" "$hba.new" 2>/dev/null || true
    chmod --reference="$hba" "$hba.new" 2>/dev/null || true
    mv "$hba.new" "$hba"
    run_logged pg-reload pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
    sleep 1
    pg_access_ok || {
      echo "still cannot connect as postgres to 127.0.0.1:5432" >&2
      return 1
    }
  fi
}

venv_stamp() {
  {
    sha "$PY_REQ"
    python3 -c 'import sys; print(sys.version)'
  } | sha256sum | cut -d' ' -f1
}
venv_ready() {
  [[ -x "$VENV/bin/python" && "$(cat "$VENV/.dialtone-stamp" 2>/dev/null)" == "$(venv_stamp)" ]] &&
    "$VENV/bin/python" -c 'import simple_salesforce, pytest' 2>/dev/null
}
venv_works() {
  local t rc=0
  t=$(mktemp -d)
  python3 -m venv "$t/v" >/dev/null 2>&1 || rc=$?
  rm -rf "$t"
  return "$rc"
}

setup_python() {
  venv_ready && return 0
  local want
  want=$(venv_stamp)
  echo "creating Python venv $VENV"
  rm -rf "$VENV"
  run_logged venv python3 -m venv "$VENV"
  run_logged pip "$VENV/bin/pip" install -q --disable-pip-version-check --no-input -r "$PY_REQ"
  echo "$want" >"$VENV/.dialtone-stamp"
}

setup_node() {
  local want
  want=$(sha "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json")
  if [[ -d "$NODE_DIR/node_modules/jsforce" && "$(cat "$NODE_DIR/node_modules/.dialtone-stamp" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  echo "npm ci in tests/clients/node"
  # --ignore-scripts: nothing in the tree needs an install script (core-js's
  # postinstall only prints a banner), and none may download anything.
  (cd "$NODE_DIR" && run_logged npm-ci npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" >"$NODE_DIR/node_modules/.dialtone-stamp"
}

setup_browser() {
  local want
  want=$(sha "$BROWSER_DIR/package.json" "$BROWSER_DIR/package-lock.json")
  if [[ -d "$BROWSER_DIR/node_modules/playwright-core" && "$(cat "$BROWSER_DIR/node_modules/.dialtone-stamp" 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  echo "npm ci in tests/browser (playwright-core only; no browser download)"
  (cd "$BROWSER_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 run_logged npm-ci-browser npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" >"$BROWSER_DIR/node_modules/.dialtone-stamp"
}

# ---------------------------------------------------------------- stages

rust_tests() {
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-tests=warn
  else
    cargo test --workspace
  fi
}

# Lints: clippy with warnings as errors, on everything the tests built.
rust_lints() {
  if cargo clippy --version >/dev/null 2>&1; then
    cargo clippy --workspace --all-targets --quiet -- -D warnings
  else
    echo "clippy is not installed (rustup component add clippy): lints skipped"
  fi
}

build_release() {
  cargo build --release -p dialtone
  [[ -x "$CARGO_TARGET_DIR/release/dialtone" ]] || {
    echo "no binary at $CARGO_TARGET_DIR/release/dialtone" >&2
    return 1
  }
}

clients() {
  DIALTONE_BIN="$CARGO_TARGET_DIR/release/dialtone" DIALTONE_PYTHON="$VENV/bin/python" \
    "$ROOT/tests/clients/run.sh" "$1"
}

# ================================================================ HOOK
# extra_suites: later end-to-end suites go here, one `stage` line each, e.g.
#   stage "sip: sipp scenarios"        "$ROOT/tests/sip/run.sh"
#   stage "ui: chromium softphone"     "$ROOT/tests/browser/run.sh"
# Each command gets the release binary at $CARGO_TARGET_DIR/release/dialtone;
# put any installs it needs in setup_system (idempotent, quiet).
browser() {
  DIALTONE_BIN="$CARGO_TARGET_DIR/release/dialtone" "$BROWSER_DIR/run.sh"
}

extra_suites() {
  stage "browser: console, softphone and Open CTI in Chromium" browser
}
# ================================================================ HOOK END

stage "setup: system packages and PostgreSQL" setup_system
stage "setup: Python venv (simple-salesforce)" setup_python
stage "setup: node modules (jsforce)" setup_node
stage "setup: node modules (playwright-core)" setup_browser
stage "rust: cargo tests" rust_tests
stage "rust: clippy" rust_lints
stage "rust: release build" build_release
stage "clients: simple-salesforce + jsforce on sqlite" clients sqlite
stage "clients: simple-salesforce + jsforce on postgres" clients postgres
extra_suites

say "all stages passed"
summary
