#!/usr/bin/env bash
# Starts a private PostgreSQL and MariaDB for the test suite, each once, on free 127.0.0.1 ports, under a
# fresh run directory (repeated or concurrent runs never collide). Installs missing Debian packages first.
#
# stdout: `export NAME=value` lines to eval (the DBBACKUP_TEST_* variables and DBBACKUP_TEST_SERVERS_DIR);
# progress goes to stderr. Stop the servers with tests/stop-test-servers.sh (it reads DBBACKUP_TEST_SERVERS_DIR
# or takes the run directory as its argument).
#
#   eval "$(bash tests/start-test-servers.sh)"
set -euo pipefail

log() { printf 'start-test-servers: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- packages
pg_bin_dir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n "$d" && -x "$d/initdb" ]] && printf '%s' "$d"
}

need_packages=()
[[ -n "$(pg_bin_dir)" ]] && command -v pg_dump >/dev/null && command -v pg_restore >/dev/null || need_packages+=(postgresql postgresql-client)
command -v mariadbd >/dev/null || [[ -x /usr/sbin/mariadbd ]] || need_packages+=(mariadb-server)
command -v mariadb >/dev/null && command -v mariadb-dump >/dev/null || need_packages+=(mariadb-client)
command -v sqlite3 >/dev/null || need_packages+=(sqlite3)
command -v zstd >/dev/null || need_packages+=(zstd)
if ((${#need_packages[@]})); then
    [[ $(id -u) -eq 0 ]] || die "missing packages (${need_packages[*]}) and not root: install them with apt-get"
    log "installing ${need_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages' own services (a default cluster on 5432, mariadb on 3306) from starting during the
    # install: the tests start private servers. Only when no policy is in place already; removed afterwards.
    policy_installed=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_installed=1
    fi
    install_status=0
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_packages[@]}"; } >&2 || install_status=$?
    ((policy_installed)) && rm -f /usr/sbin/policy-rc.d
    ((install_status == 0)) || die "apt-get install ${need_packages[*]} failed (exit code $install_status)"
fi
PG_BIN=$(pg_bin_dir) || die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
id postgres >/dev/null 2>&1 || die "the 'postgres' system user does not exist (it comes with the postgresql package)"
id mysql >/dev/null 2>&1 || die "the 'mysql' system user does not exist (it comes with the mariadb-server package)"

# ---------------------------------------------------------------- helpers
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 40000))
        port_in_use "$p" || { printf '%s' "$p"; return 0; }
    done
    die "no free TCP port found on 127.0.0.1"
}
random_secret() { head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }

RUN_DIR=$(mktemp -d /tmp/dbbackup-test-servers.XXXXXXXX)
chmod 755 "$RUN_DIR"
started=0
# A failed start stops whatever did start and removes the run directory.
trap '((started)) || bash "$(dirname "${BASH_SOURCE[0]}")/stop-test-servers.sh" "$RUN_DIR" >&2' EXIT
log "run directory $RUN_DIR"

# ---------------------------------------------------------------- PostgreSQL
PG_DIR="$RUN_DIR/pg"
mkdir -p "$PG_DIR/sock"
PG_PASSWORD=$(random_secret)
printf '%s\n' "$PG_PASSWORD" >"$PG_DIR/pwfile"
chown -R postgres:postgres "$PG_DIR"
chmod 700 "$PG_DIR/sock"; chmod 600 "$PG_DIR/pwfile"
runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
rm -f "$PG_DIR/pwfile"
PG_PORT=""
for _ in 1 2 3 4 5; do
    port=$(free_port)
    if runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_DIR/sock -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200" \
        >/dev/null 2>&1; then
        PG_PORT=$port; break
    fi
    log "PostgreSQL did not start on port $port, retrying"
done
[[ -n "$PG_PORT" ]] || { tail -n 30 "$PG_DIR/server.log" >&2; die "PostgreSQL did not start"; }
log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"

# ---------------------------------------------------------------- MariaDB
MDB_DIR="$RUN_DIR/mariadb"
mkdir -p "$MDB_DIR/data"
chown -R mysql:mysql "$MDB_DIR"
chmod 750 "$MDB_DIR"
mariadb-install-db --no-defaults --user=mysql --datadir="$MDB_DIR/data" --auth-root-authentication-method=normal \
    --skip-test-db >"$MDB_DIR/install.log" 2>&1 || { cat "$MDB_DIR/install.log" >&2; die "mariadb-install-db failed"; }
MDB_PORT=""
MDB_SOCK="$MDB_DIR/mariadb.sock"
for _ in 1 2 3 4 5; do
    port=$(free_port)
    setsid "$MARIADBD" --no-defaults --user=mysql --datadir="$MDB_DIR/data" --socket="$MDB_SOCK" --port="$port" \
        --bind-address=127.0.0.1 --skip-name-resolve --pid-file="$MDB_DIR/mariadbd.pid" --log-error="$MDB_DIR/server.log" \
        --log-bin="$MDB_DIR/data/binlog" --server-id=1 --binlog-format=ROW --sync-binlog=0 \
        --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=128M --innodb-doublewrite=0 \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci --max-connections=300 \
        </dev/null >/dev/null 2>&1 &
    mpid=$!
    for _ in $(seq 1 300); do
        if mariadb-admin --no-defaults --socket="$MDB_SOCK" -uroot ping >/dev/null 2>&1; then break; fi
        kill -0 "$mpid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$mpid" 2>/dev/null && mariadb-admin --no-defaults --socket="$MDB_SOCK" -uroot ping >/dev/null 2>&1; then
        MDB_PORT=$port; echo "$mpid" >"$MDB_DIR/launcher.pid"; break
    fi
    kill "$mpid" 2>/dev/null || true
    wait "$mpid" 2>/dev/null || true
    log "MariaDB did not start on port $port, retrying"
done
[[ -n "$MDB_PORT" ]] || { tail -n 30 "$MDB_DIR/server.log" >&2; die "MariaDB did not start"; }
MDB_USER=dbbackup_admin
MDB_PASSWORD=$(random_secret)
# The admin user is reachable only over TCP from 127.0.0.1 (the server binds nothing else); root keeps socket access.
MYSQL_PWD="" mariadb --no-defaults --socket="$MDB_SOCK" -uroot <<SQL
CREATE USER '$MDB_USER'@'127.0.0.1' IDENTIFIED BY '$MDB_PASSWORD';
CREATE USER '$MDB_USER'@'localhost' IDENTIFIED BY '$MDB_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$MDB_USER'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$MDB_USER'@'localhost' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
log "MariaDB $(mariadb --no-defaults --socket="$MDB_SOCK" -uroot -N -e 'select version()') on 127.0.0.1:$MDB_PORT"

# ---------------------------------------------------------------- storage emulators and other servers
# Each tests/servers/start-*.sh takes the run directory, starts one server on 127.0.0.1 in the background (its pid
# in $RUN_DIR/pids/<name>.pid, which stop-test-servers.sh kills), prints `export ...` lines on stdout and progress
# on stderr, and fails loudly when it cannot start. Tools they install (npm packages) are cached under
# ${DBBACKUP_TEST_TOOLS_DIR:-$HOME/.cache/dbbackup-test-tools}.
mkdir -p "$RUN_DIR/pids"
: >"$RUN_DIR/extra-env.sh"
for script in "$(dirname "${BASH_SOURCE[0]}")"/servers/start-*.sh; do
    [[ -e "$script" ]] || continue
    bash "$script" "$RUN_DIR" >>"$RUN_DIR/extra-env.sh" || die "$(basename "$script") failed"
done

cat >"$RUN_DIR/env.sh" <<EOF
export DBBACKUP_TEST_SERVERS_DIR=$RUN_DIR
export DBBACKUP_TEST_PG_HOST=127.0.0.1
export DBBACKUP_TEST_PG_PORT=$PG_PORT
export DBBACKUP_TEST_PG_USER=postgres
export DBBACKUP_TEST_PG_PASSWORD=$PG_PASSWORD
export DBBACKUP_TEST_PG_BIN=$PG_BIN
export DBBACKUP_TEST_MARIADB_HOST=127.0.0.1
export DBBACKUP_TEST_MARIADB_PORT=$MDB_PORT
export DBBACKUP_TEST_MARIADB_USER=$MDB_USER
export DBBACKUP_TEST_MARIADB_PASSWORD=$MDB_PASSWORD
EOF
cat "$RUN_DIR/extra-env.sh" >>"$RUN_DIR/env.sh"
chmod 600 "$RUN_DIR/env.sh"
started=1
cat "$RUN_DIR/env.sh"
