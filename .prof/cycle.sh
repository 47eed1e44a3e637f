#!/bin/bash
# rebuild web, restart seeded server on 47321, measure
cd /work/wt-web/packages/web && npx vite build >/dev/null 2>&1
kill $(pgrep -f 'prof.mts 10000 47321') 2>/dev/null; sleep 1
cd /work/wt-web && (node --import tsx .prof/prof.mts 10000 47321 serve > /tmp/prof/serve.log 2>&1 &)
for i in $(seq 1 40); do grep -q listening /tmp/prof/serve.log && break; sleep 1; done
uptime
node --import tsx .prof/loadn.mts 47321 7 "$1"
