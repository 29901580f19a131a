#!/usr/bin/env bash
# The whole test suite: starts PostgreSQL and MariaDB (installing missing Debian packages), builds, runs
# `dotnet test` against them, stops them. Extra arguments go to `dotnet test` (e.g. --filter Engine=PostgreSql).
# Prints a final line `N passed, N failed` and exits with dotnet test's status.
set -euo pipefail
cd "$(dirname "$0")/.."

eval "$(bash tests/start-test-servers.sh)"
RESULTS_DIR="$DBBACKUP_TEST_SERVERS_DIR/results"
cleanup() { bash tests/stop-test-servers.sh "$DBBACKUP_TEST_SERVERS_DIR" || true; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dotnet build DbBackup.sln -c Release

status=0
CONSOLE_LOG="$RESULTS_DIR/console.log"
mkdir -p "$RESULTS_DIR"
dotnet test DbBackup.sln -c Release --no-build --results-directory "$RESULTS_DIR" \
    --logger "console;verbosity=normal" --logger "trx" "$@" 2>&1 | tee "$CONSOLE_LOG" || status=$?

passed=0; failed=0; total=0
shopt -s nullglob
for trx in "$RESULTS_DIR"/*.trx; do
    counters=$(grep -ao '<Counters [^>]*>' "$trx" | head -n 1)
    p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
    t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); total=$((total + ${t:-0}))
done
if ((failed > 0)); then
    # Repeat each failure with its message and stack at the end, where a truncated CI log still shows it.
    echo "=== failed tests ==="
    awk '/^  (Passed|Skipped) / { n = 0 } /^  Failed [A-Za-z_]/ { n = 40 } n > 0 { print; n-- }' "$CONSOLE_LOG"
    echo "=== end of failed tests ==="
fi
echo "$passed passed, $failed failed"
if ((status == 0 && total == 0)); then
    echo "run-tests: no test results found in $RESULTS_DIR" >&2
    status=1
fi
exit "$status"
