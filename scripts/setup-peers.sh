#!/usr/bin/env bash
# Creates .peers/venv (or $DUCK_FLIGHT_PEERS_VENV) with the pinned reference peers (pyarrow.flight,
# duckdb, ADBC Flight SQL, grpcio's health-checking client), then the Flight SQL JDBC driver and
# its checks (setup-peers-jdbc.sh, .peers/jdbc) and the arrow-go Flight SQL checks
# (setup-peers-go.sh, .peers/go). `npm test` and `npm run bench` run it first. Idempotent: a stamp
# holding the sha256 of the requirements file skips the install when nothing changed and the
# packages still import. Says what it does on stderr; prints the venv's python path as its last
# line on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQS="$ROOT/scripts/peers-requirements.txt"
VENV="${DUCK_FLIGHT_PEERS_VENV:-$ROOT/.peers/venv}"
PY="$VENV/bin/python"
STAMP="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

log() { printf '[setup-peers] %s\n' "$*" >&2; }
fail() { printf '[setup-peers] ERROR: %s\n' "$*" >&2; exit 1; }

[ -f "$REQS" ] || fail "requirements file not found: $REQS"
command -v sha256sum >/dev/null || fail "sha256sum not found"
want="$(sha256sum "$REQS" | cut -d' ' -f1)"

imports_ok() {
  "$PY" -c 'import pyarrow.flight, duckdb, adbc_driver_flightsql, adbc_driver_flightsql.dbapi, grpc, grpc_health.v1.health_pb2_grpc' >/dev/null 2>&1
}

python_peers() {
if [ -x "$PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && imports_ok; then
  log "up to date ($VENV, requirements sha256 ${want:0:12})"
  return 0
fi

command -v "$PYTHON" >/dev/null || fail "$PYTHON not found: the interop tests and the benchmark's reference need Python 3.10+ with venv (install it, or set PYTHON=/path/to/python3)"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || fail "$PYTHON is $("$PYTHON" --version 2>&1); need Python 3.10 or newer"

if [ -e "$VENV" ] && ! "$PY" -c 'import sys' >/dev/null 2>&1; then
  log "existing $VENV has no working python (its base interpreter moved?); recreating it"
  rm -rf "$VENV"
fi
if [ ! -x "$PY" ]; then
  log "creating virtual environment at $VENV with $("$PYTHON" --version 2>&1)"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV" \
    || fail "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
fi

rm -f "$STAMP"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_DEFAULT_TIMEOUT="${PIP_DEFAULT_TIMEOUT:-30}"
log "installing the pinned peers (pyarrow, duckdb, adbc-driver-flightsql; about 100 MB from PyPI) into $VENV"
"$PY" -m pip install --quiet --upgrade pip >&2 || log "warning: could not upgrade pip; continuing with $("$PY" -m pip --version)"
"$PY" -m pip install --quiet --only-binary=:all: -r "$REQS" >&2 \
  || fail "pip install -r $REQS failed (pip's output is above): is PyPI reachable? (behind a mirror, set PIP_INDEX_URL)"

if ! imports_ok; then
  "$PY" -c 'import pyarrow.flight, duckdb, adbc_driver_flightsql, adbc_driver_flightsql.dbapi, grpc, grpc_health.v1.health_pb2_grpc' >&2 || true
  fail "packages installed but do not import (see the traceback above)"
fi
echo "$want" > "$STAMP"

"$PY" - >&2 <<'PYEOF'
import importlib.metadata as md
for name in ("pyarrow", "duckdb", "adbc-driver-flightsql", "adbc-driver-manager", "numpy", "grpcio", "grpcio-health-checking"):
    print(f"[setup-peers]   {name} {md.version(name)}")
PYEOF
log "done"
}

python_peers
bash "$ROOT/scripts/setup-peers-jdbc.sh"
bash "$ROOT/scripts/setup-peers-go.sh"
echo "$PY"
