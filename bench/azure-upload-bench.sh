#!/usr/bin/env bash
# Benchmark (not part of .ci/run): a 1 GiB SQLite database backed up by dbbackup to Azurite (az:// repository,
# --compression none so the same ~1 GiB goes over the wire), beside a plain upload of the same database file by the
# official Node SDK (@azure/storage-blob, BlockBlobClient.uploadFile with its defaults) to the same Azurite, in one run.
# The database is made of random 1 MiB blobs (incompressible). Median of 3 runs each.
#
#   bench/azure-upload-bench.sh [size_mib]     # default 1024
#
# Writes bench/results/azure-upload.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
size_mib=${1:-1024}
runs=3
SDK_VERSION=12.34.0
TOOLS_DIR=${DBBACKUP_TEST_TOOLS_DIR:-$HOME/.cache/dbbackup-test-tools}
[ -x /usr/bin/time ] || apt-get install -y --no-install-recommends time >/dev/null

work=$(mktemp -d /tmp/azure-bench.XXXXXX)
cleanup() {
  for f in "$work"/run/pids/*.pid; do [ -f "$f" ] && kill -- -"$(cat "$f")" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/run"
eval "$(bash "$repo/tests/servers/start-azurite.sh" "$work/run")"

sdk="$TOOLS_DIR/azure-storage-blob-$SDK_VERSION"
if [ ! -d "$sdk/node_modules/@azure/storage-blob" ]; then
  echo "== installing @azure/storage-blob@$SDK_VERSION into $sdk" >&2
  mkdir -p "$sdk" && npm install --no-audit --no-fund --loglevel=error --prefix "$sdk" "@azure/storage-blob@$SDK_VERSION" >&2
fi
cat >"$work/upload.js" <<'JS'
const { BlobServiceClient, StorageSharedKeyCredential } = require("@azure/storage-blob");
const [, , endpoint, account, container, file, name] = process.argv;
(async () => {
  const service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, process.env.AZURE_STORAGE_KEY));
  const c = service.getContainerClient(container);
  await c.createIfNotExists();
  await c.getBlockBlobClient(name).uploadFile(file); // SDK defaults (block size chosen by the SDK, concurrency 5)
})().catch(e => { console.error(e.message); process.exit(1); });
JS

echo "== making a ${size_mib} MiB SQLite database of random blobs" >&2
db="$work/bench.db"
sqlite3 "$db" "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < $size_mib) INSERT INTO blobs(b) SELECT randomblob(1048576) FROM n;"
bytes=$(stat -c %s "$db")

dotnet build "$repo/src/DbBackup.Cli" -c Release -v q -nologo >/dev/null
cli="$repo/src/DbBackup.Cli/bin/Release/net10.0/dbbackup.dll"
export AZURE_STORAGE_KEY=$DBBACKUP_TEST_AZURE_KEY DBBACKUP_CATALOG="$work/catalog.db"
unset AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_SAS_TOKEN || true
NODE_PATH="$sdk/node_modules" node "$work/upload.js" "$DBBACKUP_TEST_AZURE_ENDPOINT" "$DBBACKUP_TEST_AZURE_ACCOUNT" bench "$db" warm >/dev/null \
  || { echo "Node SDK warm-up upload failed" >&2; exit 1; }

measure() { # command... ; prints "seconds maxrss_kb"
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" >/dev/null
  cat "$work/time.txt"
}
declare -a sdk_t ours_t ours_m
for i in $(seq $runs); do
  read -r t _ < <(NODE_PATH="$sdk/node_modules" measure node "$work/upload.js" "$DBBACKUP_TEST_AZURE_ENDPOINT" "$DBBACKUP_TEST_AZURE_ACCOUNT" bench "$db" "sdk-$i")
  sdk_t+=("$t")
  read -r t m < <(measure dotnet "$cli" backup --engine sqlite --database "$db" --compression none --quiet \
      --repository "az://$DBBACKUP_TEST_AZURE_ACCOUNT/bench/run-$i?endpoint=$DBBACKUP_TEST_AZURE_ENDPOINT")
  ours_t+=("$t"); ours_m+=("$m")
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
st=$(median "${sdk_t[@]}"); ot=$(median "${ours_t[@]}"); om=$(median "${ours_m[@]}")
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
report=$(cat <<MD
# Azure Blob upload: dbbackup vs the official Node SDK, on Azurite $(date -u +%Y-%m-%d)

$(( bytes / 1024 / 1024 )) MiB SQLite database of random blobs; Azurite 3.35.0 (HTTP, SharedKey, loopback, disk-backed);
median of $runs runs each, same run. dbbackup: \`backup --compression none\` (SQLite online-backup copy, framing,
SHA-256, part uploads with its default part size / concurrency). Node SDK: @azure/storage-blob $SDK_VERSION
\`uploadFile\` of the database file with its defaults.

| client | seconds | MB/s | peak RSS |
|---|---|---|---|
| @azure/storage-blob uploadFile | $st | $(mbps "$st") | |
| dbbackup backup (az://) | $ot | $(mbps "$ot") | $((om / 1024)) MB |

Runs (s): SDK ${sdk_t[*]}; dbbackup ${ours_t[*]}. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores.
MD
)
echo "$report"
mkdir -p "$here/results"
printf '%s\n' "$report" >"$here/results/azure-upload.md"
