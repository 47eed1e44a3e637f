#!/bin/bash
# RSS of `serve` while it loads the recommendation index, once loaded, and after queries (DESIGN §10: ≤ 400 MB with
# 100,000 adapters). Copies the catalogue in SOURCE (a DATA_DIR, e.g. one left by
# `npm run bench:adapters -- --count 100000 --iterations 20 --keep SOURCE`) to WORK unless KEEP=1 (then WORK is reused:
# its features are already computed), starts serve on port 18556 with an empty LORA_PATHS, reads the node process's
# RSS every second until /recommendations/stats reports the index loaded, then runs 1 + 15 queries.
#
#   packages/server/bench/serve-memory.sh SOURCE WORK
set -u
SRC=$1
WORK=$2
if [ "${KEEP:-0}" != 1 ]; then
  rm -rf "$WORK" && mkdir -p "$WORK" && cp "$SRC"/lora-manager.db "$SRC"/secret.key "$WORK"/
fi
LORAS=$(mktemp -d)
cd "$(dirname "$0")/../../.."
DATA_DIR=$WORK LORA_PATHS=$LORAS LIBRARY_SCAN_ON_START=false PORT=18556 LOG_LEVEL=warn node --import tsx packages/server/src/main.ts serve &
PID=$!
API=localhost:18556/api/v1
rss() { ps -o rss= -p $PID | awk '{printf "%d", $1/1024}'; }
max=0
for t in $(seq 1 300); do
  sleep 1
  r=$(rss)
  [ -z "$r" ] && { echo "serve exited"; exit 1; }
  [ "$r" -gt "$max" ] && max=$r
  n=$(curl -s -m 1 $API/recommendations/stats | sed -n 's/.*"indexed_in_memory":\([0-9]*\).*/\1/p')
  echo "t=${t}s rss=${r} MB indexed=${n:-loading}"
  [ -n "$n" ] && [ "$n" -gt 0 ] && break
done
echo "loaded after ${t}s: highest RSS while loading ${max} MB, RSS loaded $(rss) MB"
ID=$(curl -s "$API/adapters?limit=1" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' | head -1)
curl -s -o /dev/null -w "similar: %{http_code} in %{time_total} s\n" "$API/recommendations/similar/$ID"
sleep 2
echo "RSS after the first similar: $(rss) MB"
for i in 1 2 3 4 5; do
  curl -s -o /dev/null -H 'content-type: application/json' -d '{"prompt":"1girl, noir portrait, city at night, watercolor style"}' $API/recommendations/for-prompt
  curl -s -o /dev/null "$API/recommendations/by-trigger?trigger_query=noir"
  curl -s -o /dev/null "$API/recommendations/similar/$ID?diversify_results=false"
done
sleep 2
echo "RSS after 16 queries: $(rss) MB"
kill $PID
wait $PID 2>/dev/null
rm -rf "$LORAS"
