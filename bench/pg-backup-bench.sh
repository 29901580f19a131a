#!/usr/bin/env bash
# Benchmark: back up a >= 500 MB PostgreSQL database with dbbackup, beside the raw tool pipeline
# `pg_dump -Fc -Z0 | zstd -1 > file`, in the same run on the same server. Not part of .ci/run.
#
#   bench/pg-backup-bench.sh [scale]     # scale: pgbench scale factor (default 40 ≈ 600 MB) 
#
# Prints a Markdown table (median of 3 runs each: wall seconds, peak RSS of the whole pipeline's
# largest process) and the ratio dbbackup / raw; appends it to bench/results/pg-backup.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
scale=${1:-40}
runs=3

command -v zstd >/dev/null || apt-get install -y --no-install-recommends zstd >/dev/null
[ -x /usr/bin/time ] || apt-get install -y --no-install-recommends time >/dev/null

eval "$("$repo/tests/start-test-servers.sh")"
trap '"$repo/tests/stop-test-servers.sh" >/dev/null 2>&1 || true' EXIT
export PGHOST=$DBBACKUP_TEST_PG_HOST PGPORT=$DBBACKUP_TEST_PG_PORT PGUSER=$DBBACKUP_TEST_PG_USER PGPASSWORD=$DBBACKUP_TEST_PG_PASSWORD
pgbin=/usr/lib/postgresql/15/bin
db=bench_${scale}

echo "== preparing database $db (pgbench scale $scale + a text table)" >&2
"$pgbin/dropdb" --if-exists "$db"
"$pgbin/createdb" "$db"
"$pgbin/pgbench" -q -i -s "$scale" "$db" >/dev/null 2>&1
# pgbench rows are mostly blank filler; add realistic, less compressible text too.
psql -q -d "$db" -c "CREATE TABLE notes AS SELECT g AS id, md5(g::text) || ' ' || repeat(md5((g*7)::text), 3) AS body, now() - g * interval '1 second' AS at FROM generate_series(1, $((scale * 25000))) g;"
size=$(psql -Atq -d "$db" -c "select pg_database_size('$db')")
echo "database size: $((size / 1024 / 1024)) MB" >&2

work=$(mktemp -d)
trap 'rm -rf "$work"; "$repo/tests/stop-test-servers.sh" >/dev/null 2>&1 || true' EXIT
# The CLI as it is shipped: published for this runtime, ReadyToRun (precompiled; see src/DbBackup.Cli/DbBackup.Cli.csproj).
echo "== publishing the CLI (ReadyToRun)" >&2
dotnet publish "$repo/src/DbBackup.Cli" -c Release -r linux-x64 --self-contained false -o "$work/cli" -v q -nologo >/dev/null
cli="$work/cli/dbbackup"
export DBBACKUP_CATALOG="$work/catalog.db" DBBACKUP_PASSWORD=$PGPASSWORD

measure() { # name command... ; prints "seconds maxrss_kb"
  local out="$work/time.txt"
  /usr/bin/time -f "%e %M" -o "$out" "$@" >/dev/null
  cat "$out"
}

declare -a raw_t raw_m ours_t ours_m
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq $runs); do
  rm -f "$work/raw.zst"
  read -r t m < <(measure bash -c "pg_dump -Fc -Z0 -d '$db' | zstd -1 -q -o '$work/raw.zst'")
  raw_t+=("$t"); raw_m+=("$m")
  rm -rf "$work/repo"
  read -r t m < <(measure "$cli" backup --engine postgresql --server "$PGHOST" --port "$PGPORT" --username "$PGUSER" \
      --database "$db" --repository "$work/repo" --compression zstd --compression-level 1 --quiet)
  ours_t+=("$t"); ours_m+=("$m")
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
rt=$(median "${raw_t[@]}"); rm_=$(median "${raw_m[@]}"); ot=$(median "${ours_t[@]}"); om=$(median "${ours_m[@]}")
raw_size=$(stat -c %s "$work/raw.zst"); ours_size=$(du -sb "$work/repo" | cut -f1)
ratio=$(awk -v a="$ot" -v b="$rt" 'BEGIN { printf "%.2f", a / b }')
report=$(cat <<MD

### $(date -u +%Y-%m-%dT%H:%MZ) — PostgreSQL $((size / 1024 / 1024)) MB (pgbench scale $scale + notes), $(nproc) cores, median of $runs
| pipeline | seconds | peak RSS (MB, largest process) | output MB |
|---|---|---|---|
| \`pg_dump -Fc -Z0 \| zstd -1 > file\` | $rt | $((rm_ / 1024)) (/usr/bin/time of bash; pg_dump/zstd each smaller) | $((raw_size / 1024 / 1024)) |
| \`dbbackup backup --compression zstd --compression-level 1\` | $ot | $((om / 1024)) | $((ours_size / 1024 / 1024)) |

Ratio dbbackup / raw: **$ratio** (target ≤ 1.25). Runs: raw ${raw_t[*]}; dbbackup ${ours_t[*]}. Load average before/after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg).
MD
)
echo "$report"
mkdir -p "$here/results"
echo "$report" >> "$here/results/pg-backup.md"
"$pgbin/dropdb" "$db"
