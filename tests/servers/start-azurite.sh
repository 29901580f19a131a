#!/usr/bin/env bash
# Starts two Azurite blob services (npm azurite, on the system Node) for the Azure Blob adapter's tests:
#  * plain HTTP with SharedKey/SAS (the well-known devstoreaccount1 account), for the conformance suite;
#  * HTTPS with `--oauth basic` (self-signed certificate made here with openssl), so bearer tokens are exercised:
#    Azurite then accepts structurally valid JWTs whose audience is the storage service (see the tests).
# Usage: start-azurite.sh RUN_DIR   (normally run by tests/start-test-servers.sh)
# stdout: export lines; stderr: progress. Both servers bind 127.0.0.1 only.
set -euo pipefail

AZURITE_VERSION=3.35.0
log() { printf 'start-azurite: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

RUN_DIR=${1:?usage: start-azurite.sh RUN_DIR}
TOOLS_DIR=${DBBACKUP_TEST_TOOLS_DIR:-$HOME/.cache/dbbackup-test-tools}
PKG_DIR="$TOOLS_DIR/azurite-$AZURITE_VERSION"
BIN="$PKG_DIR/node_modules/.bin/azurite-blob"
command -v node >/dev/null || die "node is not installed (Node 20 or later is needed for Azurite)"
command -v openssl >/dev/null || die "openssl is not installed (it makes the HTTPS Azurite's certificate)"

if [[ ! -x "$BIN" ]]; then
    log "installing azurite@$AZURITE_VERSION into $PKG_DIR"
    mkdir -p "$PKG_DIR"
    tmp=$(mktemp -d "$TOOLS_DIR/.azurite-install.XXXXXX")
    (cd "$tmp" && npm install --no-audit --no-fund --loglevel=error --prefix "$tmp" "azurite@$AZURITE_VERSION" >&2) \
        || { rm -rf "$tmp"; die "npm install azurite@$AZURITE_VERSION failed"; }
    rm -rf "$PKG_DIR" && mv "$tmp" "$PKG_DIR"
fi
[[ -x "$BIN" ]] || die "azurite-blob not found at $BIN after install"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 40000))
        port_in_use "$p" || { printf '%s' "$p"; return 0; }
    done
    die "no free TCP port found on 127.0.0.1"
}

DIR="$RUN_DIR/azurite"
mkdir -p "$DIR/data" "$DIR/data-oauth" "$RUN_DIR/pids"

# A private CA and a server certificate for 127.0.0.1 (tests trust the CA explicitly; nothing is installed system-wide).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dbbackup test CA" \
    -keyout "$DIR/ca.key" -out "$DIR/ca.pem" >/dev/null 2>&1 || die "openssl could not make the test CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$DIR/server.key" -out "$DIR/server.csr" >/dev/null 2>&1 \
    || die "openssl could not make the server key"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$DIR/server.ext"
openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial -days 2 \
    -extfile "$DIR/server.ext" -out "$DIR/server.pem" >/dev/null 2>&1 || die "openssl could not sign the server certificate"

# start NAME DATA_DIR EXTRA_ARGS... ; sets STARTED_PORT
start() {
    local name=$1 data=$2; shift 2
    local scheme=http
    [[ " $* " == *" --cert "* ]] && scheme=https
    STARTED_PORT=""
    for _ in 1 2 3 4 5; do
        local port; port=$(free_port)
        setsid "$BIN" --blobHost 127.0.0.1 --blobPort "$port" --location "$data" --skipApiVersionCheck \
            --disableTelemetry --loose --silent "$@" </dev/null >"$DIR/$name.log" 2>&1 &
        local pid=$!
        echo "$pid" >"$RUN_DIR/pids/$name.pid"
        for _ in $(seq 1 300); do
            # Any HTTP answer (400 for a bare GET) means the server listens.
            if curl -s -o /dev/null --cacert "$DIR/ca.pem" "$scheme://127.0.0.1:$port/devstoreaccount1?comp=list"; then
                STARTED_PORT=$port; return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -- -"$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rm -f "$RUN_DIR/pids/$name.pid"
        log "$name did not start on port $port, retrying"
    done
    tail -n 30 "$DIR/$name.log" >&2
    die "$name did not start"
}

start azurite "$DIR/data"
PORT=$STARTED_PORT
start azurite-oauth "$DIR/data-oauth" --oauth basic --cert "$DIR/server.pem" --key "$DIR/server.key"
OAUTH_PORT=$STARTED_PORT
log "Azurite $AZURITE_VERSION blob on http://127.0.0.1:$PORT and https://127.0.0.1:$OAUTH_PORT (oauth basic)"

# The emulator's documented, public development key (not a secret).
cat <<ENV
export DBBACKUP_TEST_AZURE_ENDPOINT=http://127.0.0.1:$PORT/devstoreaccount1
export DBBACKUP_TEST_AZURE_ACCOUNT=devstoreaccount1
export DBBACKUP_TEST_AZURE_KEY=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
export DBBACKUP_TEST_AZURE_OAUTH_ENDPOINT=https://127.0.0.1:$OAUTH_PORT/devstoreaccount1
export DBBACKUP_TEST_AZURE_CA_CERT=$DIR/ca.pem
ENV
