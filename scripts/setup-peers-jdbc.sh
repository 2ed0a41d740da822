#!/usr/bin/env bash
# Puts the Arrow Flight SQL JDBC driver (Maven Central) in .peers/jdbc and compiles
# test/peers/jdbc/JdbcChecks.java against it into .peers/jdbc/classes. Idempotent: the jar is
# kept, and a stamp of the source's sha256 skips javac when nothing changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION=18.3.0
DIR="$ROOT/.peers/jdbc"
JAR="$DIR/flight-sql-jdbc-driver-$VERSION.jar"
SRC="$ROOT/test/peers/jdbc/JdbcChecks.java"
CLASSES="$DIR/classes"
STAMP="$CLASSES/.source.sha256"

log() { printf '[setup-peers-jdbc] %s\n' "$*" >&2; }
fail() { printf '[setup-peers-jdbc] ERROR: %s\n' "$*" >&2; exit 1; }

for tool in java javac mvn; do
  command -v "$tool" >/dev/null || fail "$tool not found: install a JDK 17+ and Maven (Debian: apt-get install openjdk-17-jdk-headless maven)"
done
major="$(javac -version 2>&1 | sed -E 's/^javac ([0-9]+).*/\1/')"
[ "$major" -ge 17 ] 2>/dev/null || fail "javac is $(javac -version 2>&1); need Java 17 or newer"

if [ ! -s "$JAR" ]; then
  log "fetching org.apache.arrow:flight-sql-jdbc-driver:$VERSION (about 45 MB) with Maven into $DIR"
  mkdir -p "$DIR"
  mvn -q -B -Dmaven.repo.local="$ROOT/.peers/m2" dependency:copy \
    "-Dartifact=org.apache.arrow:flight-sql-jdbc-driver:$VERSION" "-DoutputDirectory=$DIR" >&2 \
    || fail "mvn dependency:copy failed (see above); it needs Maven Central"
fi

want="$( (cat "$SRC"; echo "$VERSION") | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -f "$CLASSES/JdbcChecks.class" ]; then
  log "up to date ($JAR)"
  exit 0
fi
rm -rf "$CLASSES"
mkdir -p "$CLASSES"
javac -d "$CLASSES" -cp "$JAR" "$SRC" >&2 || fail "javac failed on $SRC"
echo "$want" > "$STAMP"
log "done ($CLASSES)"
