#!/usr/bin/env bash
# Benchmark (not part of .ci/run): a ~1 GB SQLite backup to the GCS emulator through dbbackup, beside a plain upload
# of the same database file by the official Node SDK (@google-cloud/storage) in the same run, same emulator.
#
#   bench/gcs-upload-bench.sh [size_mb] [runs]   # database size (default 1024 MB), runs (default 3; the median is kept)
#
# The database is filled with randomblob() rows (incompressible) and backed up with --compression none, so both sides
# move ~the same bytes. The firebase-tools emulator accepts bodies up to 130 MiB and no multi-chunk resumable uploads,
# so the SDK uploads the file as 64 MiB objects (one request each, like dbbackup's 64 MiB volumes); a single 1 GB SDK
# upload would fail there. Results: bench/results/gcs-upload.md (appended).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
size_mb=${1:-1024}
runs=${2:-3}
SDK_VERSION=7.17.0
TOOLS_DIR=${DBBACKUP_TEST_TOOLS_DIR:-$HOME/.cache/dbbackup-test-tools}
[ -x /usr/bin/time ] || apt-get install -y --no-install-recommends time >/dev/null

run_dir=$(mktemp -d /tmp/dbbackup-test-servers.XXXXXXXX)
work=$(mktemp -d)
trap '"$repo/tests/stop-test-servers.sh" "$run_dir" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
eval "$(bash "$repo/tests/servers/start-gcs-emulator.sh" "$run_dir")"
endpoint=$DBBACKUP_TEST_GCS_ENDPOINT

sdk_dir="$TOOLS_DIR/google-cloud-storage-$SDK_VERSION"
if [ ! -f "$sdk_dir/.installed" ]; then
  mkdir -p "$sdk_dir"
  (cd "$sdk_dir" && npm install --no-audit --no-fund --loglevel=error --prefix . "@google-cloud/storage@$SDK_VERSION" >&2)
  touch "$sdk_dir/.installed"
fi

db="$work/bench.db"
echo "== generating a ${size_mb} MB SQLite database" >&2
rows=$((size_mb * 1024 * 1024 / 1100))
sqlite3 "$db" "PRAGMA page_size=65536; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
  CREATE TABLE blobs(id INTEGER PRIMARY KEY, body BLOB);
  WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT $rows) INSERT INTO blobs SELECT x, randomblob(1024) FROM c;" >/dev/null
bytes=$(stat -c %s "$db")
echo "database: $bytes bytes" >&2

dotnet build "$repo/src/DbBackup.Cli" -c Release -v q -nologo >/dev/null
cli="$repo/src/DbBackup.Cli/bin/Release/net10.0/dbbackup.dll"
export DBBACKUP_CATALOG="$work/catalog.db"

cat >"$work/sdk-upload.js" <<'JS'
// Plain upload of a file as 64 MiB objects with the official SDK (one multipart request per object).
const { Storage } = require(process.argv[2] + '/node_modules/@google-cloud/storage');
const fs = require('fs');
(async () => {
  const [, , , endpoint, file, prefix] = process.argv;
  const storage = new Storage({ apiEndpoint: endpoint, projectId: 'bench' });
  const bucket = storage.bucket('bench');
  const piece = 64 * 1024 * 1024;
  const fd = fs.openSync(file, 'r');
  const size = fs.fstatSync(fd).size;
  for (let offset = 0, i = 0; offset < size; offset += piece, i++) {
    const buf = Buffer.allocUnsafe(Math.min(piece, size - offset));
    fs.readSync(fd, buf, 0, buf.length, offset);
    await bucket.file(`${prefix}/data.${String(i).padStart(5, '0')}`).save(buf, { resumable: false, validation: false });
  }
})().catch((e) => { console.error(e); process.exit(1); });
JS

measure() { # prints "seconds maxrss_mb"
  /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" >"$work/out.txt" 2>"$work/err.txt" || { cat "$work/err.txt" >&2; exit 1; }
  awk '{printf "%s %d", $1, $2/1024}' "$work/time.txt"
}

results=()
for run in $(seq 1 "$runs"); do
  d=$(measure dotnet "$cli" backup --engine sqlite --database "$db" --repository "gs://bench/dbbackup-$run?endpoint=$endpoint" --compression none --quiet --output json)
  s=$(measure node "$work/sdk-upload.js" "$sdk_dir" "$endpoint" "$db" "sdk-$run")
  echo "run $run: dbbackup $d | sdk $s" >&2
  results+=("$d|$s")
  curl -fsS -X POST "$endpoint/internal/reset" >/dev/null  # free the emulator's copies between runs
done

median() { sort -n | awk '{v[NR]=$0} END{print v[int((NR+1)/2)]}'; }
d_sec=$(printf '%s\n' "${results[@]}" | cut -d'|' -f1 | cut -d' ' -f1 | median)
d_rss=$(printf '%s\n' "${results[@]}" | cut -d'|' -f1 | cut -d' ' -f2 | median)
s_sec=$(printf '%s\n' "${results[@]}" | cut -d'|' -f2 | cut -d' ' -f1 | median)
s_rss=$(printf '%s\n' "${results[@]}" | cut -d'|' -f2 | cut -d' ' -f2 | median)
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN{printf "%.0f", b/1048576/s}'; }
{
  echo
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) — ${bytes} byte SQLite database (randomblob rows), firebase-tools emulator, median of $runs run(s), load average $(cut -d' ' -f1 /proc/loadavg)"
  echo
  echo "| client | seconds | MiB/s | peak RSS MiB |"
  echo "|---|---|---|---|"
  echo "| dbbackup backup --compression none (64 MiB volumes, one media upload each) | $d_sec | $(mbps "$d_sec") | $d_rss |"
  echo "| @google-cloud/storage $SDK_VERSION, file.save of 64 MiB pieces (resumable: false) | $s_sec | $(mbps "$s_sec") | $s_rss |"
  echo
  echo "Ratio dbbackup / SDK: $(awk -v a="$d_sec" -v b="$s_sec" 'BEGIN{printf "%.2f", a/b}'). Runs: ${results[*]}"
} | tee -a "$here/results/gcs-upload.md"
