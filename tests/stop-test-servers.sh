#!/usr/bin/env bash
# Stops the servers started by tests/start-test-servers.sh and removes their run directory.
# Usage: tests/stop-test-servers.sh [RUN_DIR]   (default: $DBBACKUP_TEST_SERVERS_DIR)
set -uo pipefail

log() { printf 'stop-test-servers: %s\n' "$*" >&2; }
RUN_DIR=${1:-${DBBACKUP_TEST_SERVERS_DIR:-}}
if [[ -z "$RUN_DIR" || ! -d "$RUN_DIR" ]]; then
    log "no run directory given (argument or DBBACKUP_TEST_SERVERS_DIR); nothing to stop"
    exit 0
fi
case "$RUN_DIR" in
    /tmp/dbbackup-test-servers.*) ;;
    *) log "refusing to remove '$RUN_DIR': not a directory created by start-test-servers.sh"; exit 1 ;;
esac

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [[ -f "$RUN_DIR/pg/data/postmaster.pid" ]]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$RUN_DIR/pg/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
        || log "pg_ctl stop failed"
fi

pid_file="$RUN_DIR/mariadb/mariadbd.pid"
if [[ -f "$pid_file" ]]; then
    pid=$(cat "$pid_file")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && { log "MariaDB ($pid) did not stop in 30 s; killing it"; kill -9 "$pid" 2>/dev/null; }
    fi
fi

# Servers started by tests/servers/start-*.sh: each pid file names a process-group leader (started with setsid).
for pid_file in "$RUN_DIR"/pids/*.pid; do
    [[ -f "$pid_file" ]] || continue
    pid=$(cat "$pid_file")
    kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { log "$(basename "$pid_file" .pid) ($pid) did not stop in 10 s; killing it"; kill -9 -- -"$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null; }
done

rm -rf "$RUN_DIR"
log "stopped and removed $RUN_DIR"
