#!/usr/bin/env bash
# Benchmark (not part of .ci/run): a ~1 GB backup to S3 on the fauxqs emulator through dbbackup, beside a plain
# upload of the same bytes by the AWS CLI (`aws s3 cp`, installed with `pip install awscli` when missing), in the
# same run against the same emulator. Also times dbbackup to a local folder, to separate the upload from the rest
# of the backup pipeline.
#
#   bench/s3-upload-bench.sh [size_mb]      # default 1024; RUNS=3; CONCURRENCY="8 4 10" (parts in flight per object,
#                                           # through DBBACKUP_S3_MAX_CONCURRENT_PARTS; the first is the default)
#
# Data: a generated SQLite database of random BLOBs (incompressible, so `--compression none` stores the same byte
# count the CLI uploads). Median of 3 runs each; results appended to bench/results/s3-upload.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
size_mb=${1:-1024}
runs=${RUNS:-3}
read -r -a concurrency <<<"${CONCURRENCY:-8 4 10}"

command -v sqlite3 >/dev/null || apt-get install -y --no-install-recommends sqlite3 >/dev/null
command -v aws >/dev/null || pip install --quiet awscli >&2
[ -x /usr/bin/time ] || apt-get install -y --no-install-recommends time >/dev/null

run_dir=$(mktemp -d /tmp/dbbackup-test-servers.XXXXXXXX)
mkdir -p "$run_dir/pids"
work=$(mktemp -d)
trap 'rm -rf "$work"; bash "$repo/tests/stop-test-servers.sh" "$run_dir" >/dev/null 2>&1 || true' EXIT
eval "$(bash "$repo/tests/servers/start-fauxqs.sh" "$run_dir")"

db="$work/bench.db"
echo "== generating a ${size_mb} MB SQLite database of random blobs" >&2
rows=$((size_mb * 1024 * 1024 / 8192))
sqlite3 "$db" "PRAGMA page_size=65536; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
  CREATE TABLE blobs(id INTEGER PRIMARY KEY, body BLOB);
  WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < $rows) INSERT INTO blobs SELECT i, randomblob(8192) FROM g;"
bytes=$(stat -c %s "$db")
echo "database: $((bytes / 1024 / 1024)) MB" >&2

dotnet build "$repo/src/DbBackup.Cli" -c Release -v q -nologo >/dev/null
cli="$repo/src/DbBackup.Cli/bin/Release/net10.0/dbbackup.dll"
export AWS_ACCESS_KEY_ID=$DBBACKUP_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$DBBACKUP_TEST_S3_SECRET_KEY
export AWS_DEFAULT_REGION=$DBBACKUP_TEST_S3_REGION AWS_REGION=$DBBACKUP_TEST_S3_REGION AWS_EC2_METADATA_DISABLED=true
export DBBACKUP_CATALOG="$work/catalog.db"
endpoint=$DBBACKUP_TEST_S3_ENDPOINT
aws --endpoint-url "$endpoint" s3 mb s3://bench-bucket >/dev/null

load=$(cut -d' ' -f1 /proc/loadavg)
measure() { # command... ; prints "seconds maxrss_kb"
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null
  cat "$work/time.txt"
}
declare -a aws_t aws_m loc_t loc_m
declare -A s3_t s3_m
for i in $(seq "$runs"); do
  read -r t m < <(measure aws --endpoint-url "$endpoint" s3 cp "$db" "s3://bench-bucket/aws-$i/bench.db" --only-show-errors)
  aws_t+=("$t"); aws_m+=("$m")
  line="run $i: aws $t s"
  for c in "${concurrency[@]}"; do
    read -r t m < <(DBBACKUP_S3_MAX_CONCURRENT_PARTS=$c measure dotnet "$cli" backup --engine sqlite --database "$db" --compression none --quiet \
        --repository "s3://bench-bucket/dbbackup-$c-$i?endpoint=$endpoint&region=$AWS_REGION")
    s3_t[$c]+="$t "; s3_m[$c]+="$m "
    line+=", dbbackup->s3 (c=$c) $t s"
  done
  rm -rf "$work/repo"
  read -r t m < <(measure dotnet "$cli" backup --engine sqlite --database "$db" --compression none --quiet --repository "$work/repo")
  loc_t+=("$t"); loc_m+=("$m")
  echo "$line, dbbackup->local $t s" >&2
done
stored=$(aws --endpoint-url "$endpoint" s3 ls --recursive --summarize "s3://bench-bucket/dbbackup-${concurrency[0]}-1/" | awk '/Total Size/ {print $3}')
aws_stored=$(aws --endpoint-url "$endpoint" s3 ls "s3://bench-bucket/aws-1/bench.db" | awk '{print $3}')

median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
mbps() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.1f", b / 1000000 / t }'; }
at=$(median "${aws_t[@]}"); lt=$(median "${loc_t[@]}")
rows=""; ratios=""; runs_text="aws ${aws_t[*]}"
for c in "${concurrency[@]}"; do
  # shellcheck disable=SC2086
  st=$(median ${s3_t[$c]}); sm=$(median ${s3_m[$c]})
  rows+="| \`dbbackup backup --repository s3://...\` (8 MiB parts, $c in flight) | $st | $(mbps "$bytes" "$st") | $((sm / 1024)) | $((stored / 1000000)) |"$'\n'
  ratios+=" c=$c: **$(awk -v a="$st" -v b="$at" 'BEGIN { printf "%.2f", a / b }')**;"
  runs_text+="; dbbackup->s3 c=$c ${s3_t[$c]}"
done
report=$(cat <<MD

### $(date -u +%Y-%m-%dT%H:%MZ) — ${size_mb} MB SQLite (random blobs, --compression none) to fauxqs 2.4.1, $(nproc) cores (load average at start: $load), median of $runs
| upload | seconds | MB/s (of $((bytes / 1000000)) MB) | peak RSS MB | stored MB |
|---|---|---|---|---|
| \`aws s3 cp\` (aws-cli $(aws --version 2>&1 | cut -d' ' -f1 | cut -d/ -f2), 8 MiB parts, 10 concurrent) | $at | $(mbps "$bytes" "$at") | $(( $(median "${aws_m[@]}") / 1024 )) | $((aws_stored / 1000000)) |
${rows}| \`dbbackup backup --repository <local folder>\` (no upload) | $lt | $(mbps "$bytes" "$lt") | $(( $(median "${loc_m[@]}") / 1024 )) | — |

Ratio dbbackup→S3 / aws s3 cp:${ratios} Runs (s): ${runs_text}; dbbackup->local ${loc_t[*]}.
MD
)
echo "$report"
mkdir -p "$here/results"
echo "$report" >> "$here/results/s3-upload.md"
