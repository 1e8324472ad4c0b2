#!/usr/bin/env bash
# Runs the browser journeys against a system of their own: free ports, databases bt_<id>_*,
# event namespace bt<id>, its own Redis prefix and search index; afterwards it stops the
# system and deletes everything it stored. Needs Debian's chromium and `npm ci` (done here).
#
#   bash services/storefront/browser/run.sh
#
# Screenshots land in services/storefront/browser/artifacts/screenshots/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE/../../.."

[ -x /usr/bin/chromium ] || { echo "browser tests: /usr/bin/chromium is missing (apt-get install chromium)" >&2; exit 1; }
(cd "$HERE" && npm ci --no-audit --no-fund --silent)
cargo build -q -p shop
BIN=${CARGO_TARGET_DIR:-target}/debug/shop

read -r GW US PS OS SS < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
ID=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:8])')
export GATEWAY_LISTEN_ADDR=127.0.0.1:$GW USER_LISTEN_ADDR=127.0.0.1:$US PRODUCT_LISTEN_ADDR=127.0.0.1:$PS
export ORDER_LISTEN_ADDR=127.0.0.1:$OS SEARCH_LISTEN_ADDR=127.0.0.1:$SS
for service in user product order search; do
    export "${service^^}_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bt_${ID}_${service}"
done
export EVENT_NAMESPACE=bt$ID REDIS_KEY_PREFIX=bt$ID:gateway: SEARCH_INDEX_DIR=/tmp/bt-$ID-index
# Every journey signs in from this one address.
export LOGIN_RATE_LIMIT_PER_MINUTE=120 LOG_FORMAT=json RUST_LOG=warn
unset PRODUCT_SERVICE_URL USER_UPSTREAMS PRODUCT_UPSTREAMS ORDER_UPSTREAMS SEARCH_UPSTREAMS

LOG=$(mktemp)
"$BIN" up --products 320 >"$LOG" 2>&1 &
SHOP=$!
cleanup() {
    kill -INT "$SHOP" 2>/dev/null && wait "$SHOP" || true
    "$BIN" reset --yes >/dev/null || true
    redis-cli --scan --pattern "${REDIS_KEY_PREFIX}*" | xargs -r redis-cli del >/dev/null || true
    rm -f "$LOG"
}
trap cleanup EXIT

until grep -q "Ctrl-C" "$LOG"; do
    kill -0 "$SHOP" 2>/dev/null || { cat "$LOG"; exit 1; }
    sleep 1
done
# The search index fills from the event stream after the catalog is seeded.
for _ in $(seq 1 120); do
    total=$(curl -s "http://127.0.0.1:$GW/api/search?q=headphones&per_page=1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("total", 0))' 2>/dev/null || echo 0)
    [ "${total:-0}" -gt 0 ] && break
    sleep 1
done
(cd "$HERE" && SHOP_URL="http://127.0.0.1:$GW" npm test)
