#!/usr/bin/env bash
# Builds test/peers/go (checks through arrow-go's Flight SQL client, modules pinned by its
# go.mod/go.sum, fetched from the Go module proxy) into .peers/go/flightsql-checks, with the
# module and build caches under .peers/go. Idempotent: a stamp of the sources' sha256 and the
# Go version skips the build when nothing changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/test/peers/go"
DIR="$ROOT/.peers/go"
BIN="$DIR/flightsql-checks"
STAMP="$DIR/.build.sha256"

log() { printf '[setup-peers-go] %s\n' "$*" >&2; }
fail() { printf '[setup-peers-go] ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || fail "go not found: install Go 1.26 or newer (test/peers/go/go.mod asks for it)"
# Never download another toolchain: an older Go says so instead.
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOMODCACHE="$DIR/mod" GOCACHE="$DIR/cache"
version="$(go env GOVERSION)"

want="$( (cat "$SRC/go.mod" "$SRC/go.sum" "$SRC"/*.go; echo "$version") | sha256sum | cut -d' ' -f1)"
if [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  log "up to date ($BIN, $version)"
  exit 0
fi
rm -f "$STAMP"
mkdir -p "$DIR"
log "building $BIN with $version (from cold: modules from the Go module proxy, then a few minutes of compiling)"
(cd "$SRC" && go build -trimpath -o "$BIN" .) >&2 || fail "go build in $SRC failed (see above)"
echo "$want" > "$STAMP"
log "done"
