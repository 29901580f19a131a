#!/usr/bin/env bash
# Starts the firebase-tools Cloud Storage emulator (GCS JSON API) on a free 127.0.0.1 port.
# Usage: start-gcs-emulator.sh <run dir>. stdout: `export DBBACKUP_TEST_GCS_ENDPOINT=http://127.0.0.1:PORT`.
# firebase-tools (~300 MB) is installed once into $DBBACKUP_TEST_TOOLS_DIR/firebase-tools-<version>, without optional
# dependencies (superstatic's re2 would otherwise be compiled from source here: no prebuilt download is reachable).
# The emulator serves media/multipart and single-request resumable uploads, ranged downloads, listing and deletes;
# it finalizes a resumable upload on its first chunk and caps bodies at 130 MiB (see docs/storage/gcs.md).
set -euo pipefail
FIREBASE_TOOLS_VERSION=15.34.2
RUN_DIR=${1:?usage: start-gcs-emulator.sh <run dir>}
TOOLS_DIR=${DBBACKUP_TEST_TOOLS_DIR:-$HOME/.cache/dbbackup-test-tools}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf 'start-gcs-emulator: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; [[ -f "${LOG:-}" ]] && tail -n 30 "$LOG" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed (Node 20+ is needed for the firebase-tools storage emulator)"
PKG_DIR="$TOOLS_DIR/firebase-tools-$FIREBASE_TOOLS_VERSION"
if [[ ! -f "$PKG_DIR/.installed" ]]; then
    log "installing firebase-tools@$FIREBASE_TOOLS_VERSION into $PKG_DIR (once; ~300 MB)"
    mkdir -p "$PKG_DIR"
    (cd "$PKG_DIR" && npm install --no-audit --no-fund --loglevel=error --omit=optional --prefix . "firebase-tools@$FIREBASE_TOOLS_VERSION" >&2) \
        || die "npm install firebase-tools@$FIREBASE_TOOLS_VERSION failed"
    touch "$PKG_DIR/.installed"
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=
for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    port_in_use "$p" || { PORT=$p; break; }
done
[[ -n "$PORT" ]] || die "no free TCP port found on 127.0.0.1"

DATA_DIR="$RUN_DIR/gcs"
mkdir -p "$DATA_DIR/tmp" "$RUN_DIR/pids"
LOG="$DATA_DIR/emulator.log"
# TMPDIR: the emulator keeps object bytes under $TMPDIR/firebase/storage/blobs; keep them in this run's folder.
TMPDIR="$DATA_DIR/tmp" setsid node "$SCRIPT_DIR/gcs-emulator.js" "$PKG_DIR" "$PORT" >"$LOG" 2>&1 < /dev/null &
echo $! >"$RUN_DIR/pids/gcs.pid"

for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/storage/v1/b/dbbackup-probe/o?maxResults=1" 2>/dev/null; then
        log "GCS emulator ready on 127.0.0.1:$PORT"
        echo "export DBBACKUP_TEST_GCS_ENDPOINT=http://127.0.0.1:$PORT"
        exit 0
    fi
    kill -0 "$(cat "$RUN_DIR/pids/gcs.pid")" 2>/dev/null || die "the GCS emulator exited"
    sleep 0.1
done
die "the GCS emulator did not answer on 127.0.0.1:$PORT within 30 s"
