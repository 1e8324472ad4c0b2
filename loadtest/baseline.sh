#!/usr/bin/env bash
# Measures the load-test baselines: starts the whole system (release build) from nothing on
# a setup of its own — ports 9080–9084, databases lt_*, event namespace `lt`, Redis prefix
# `lt:gateway:`, its own search index, rate limits off — runs the given profiles one after the
# other, then stops it and deletes everything it stored. It never touches a `shop up` on the
# default ports. Reports go to docs/loadtest/<profile>/ (or $LOADTEST_OUT/<profile>/).
#
#   bash loadtest/baseline.sh [profile ...]        # default: standard stress
#   bash loadtest/baseline.sh costs                # CPU per journey kind (COST_RATE, COST_SECONDS)
#
# Extra loadtest flags can be passed in LOADTEST_ARGS, e.g. LOADTEST_ARGS="--rate 30";
# BASELINE_BUILD=debug runs the debug build instead of the release one. At the end it counts
# the warnings and errors the system logged during the run (normal operation should log none).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -eq 0 ] && set -- standard stress

export USER_LISTEN_ADDR=127.0.0.1:9081 PRODUCT_LISTEN_ADDR=127.0.0.1:9082 ORDER_LISTEN_ADDR=127.0.0.1:9083
export SEARCH_LISTEN_ADDR=127.0.0.1:9084 GATEWAY_LISTEN_ADDR=127.0.0.1:9080
export USER_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lt_user
export PRODUCT_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lt_product
export ORDER_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lt_order
export SEARCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lt_search
export EVENT_NAMESPACE=lt SEARCH_INDEX_DIR=/tmp/lt-search-index REDIS_KEY_PREFIX=lt:gateway:
export RATE_LIMIT_PER_MINUTE=0 SESSION_RATE_LIMIT_PER_MINUTE=0 LOGIN_RATE_LIMIT_PER_MINUTE=0
export LOG_FORMAT=json RUST_LOG=warn
# `shop up` points the services at each other as it starts them; inherited values would win.
unset PRODUCT_SERVICE_URL USER_UPSTREAMS PRODUCT_UPSTREAMS ORDER_UPSTREAMS SEARCH_UPSTREAMS

BUILD=${BASELINE_BUILD:-release}
if [ "$BUILD" = release ]; then cargo build --release -q -p shop -p loadtest; else cargo build -q -p shop -p loadtest; fi
BIN=${CARGO_TARGET_DIR:-target}/$BUILD
WORK=$(mktemp -d)

"$BIN/shop" reset --yes >/dev/null
"$BIN/shop" up >"$WORK/shop.log" 2>&1 &
SHOP=$!
cleanup() {
    kill -INT "$SHOP" 2>/dev/null && wait "$SHOP" || true
    "$BIN/shop" reset --yes >/dev/null || true
    # Sessions and rate-limit counters (reset leaves Redis alone).
    if command -v redis-cli >/dev/null; then
        redis-cli --scan --pattern "${REDIS_KEY_PREFIX}*" | xargs -r redis-cli del >/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

until grep -q "Ctrl-C" "$WORK/shop.log"; do
    kill -0 "$SHOP" 2>/dev/null || { cat "$WORK/shop.log"; exit 1; }
    sleep 1
done

# A fresh system indexes the demo catalog from the event stream for a few minutes; the
# freshness probe would measure that backlog. Wait until the search consumers are idle.
echo "waiting for the search index to catch up with the catalog…"
previous=-1
while :; do
    consumed=$(curl -s http://127.0.0.1:9084/metrics | awk '/^events_consumed_total/ {n += $2} END {print n + 0}')
    [ "$consumed" = "$previous" ] && break
    previous=$consumed
    sleep 5
done

# `costs`: each journey kind alone at a steady rate; the CPU the shop's processes spent on it
# (gateway and services, from the run's samples; PostgreSQL, NATS and Redis not included),
# in milliseconds of one core per journey.
journey_costs() {
    local rate=${COST_RATE:-10} seconds=${COST_SECONDS:-60}
    printf '| journey | journeys/s | CPU ms per journey | of which user service |\n|---|---:|---:|---:|\n'
    for kind in browse search buy orders cancel; do
        # shellcheck disable=SC2086
        "$BIN/loadtest" --profile standard --mix "$kind=1" --rate "$rate" --seconds "$seconds" --quiet \
            --fail-on-errors false --out "$WORK/cost-$kind" ${LOADTEST_ARGS:-} >/dev/null || true
        python3 - "$kind" "$WORK/cost-$kind/summary.json" <<'PY'
import json, sys
kind, path = sys.argv[1], sys.argv[2]
summary = json.load(open(path))
rate = summary["achieved_rate"]
shop = [p for p in summary["resources"] if not p["name"].startswith("loadtest")]
total = sum(p["avg_cpu_percent"] for p in shop)
user = sum(p["avg_cpu_percent"] for p in shop if p["name"] == "user")
# 100 % of a core for a second is 1,000 ms; per journey at `rate` journeys a second:
print(f"| {kind} | {rate:.1f} | {total * 10 / rate:.1f} | {user * 10 / rate:.1f} |")
PY
    done
}

echo "system: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, commit $(git rev-parse --short HEAD)"
status=0
for profile in "$@"; do
    if [ "$profile" = costs ]; then
        journey_costs
        continue
    fi
    # shellcheck disable=SC2086
    "$BIN/loadtest" --profile "$profile" --base-url http://127.0.0.1:9080 --out "${LOADTEST_OUT:-docs/loadtest}/$profile" \
        ${LOADTEST_ARGS:-} || status=$?
done

# The system's warnings and errors during the run, by process and message.
python3 - "$WORK/shop.log" <<'PY'
import collections, json, sys
counts = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    if not line.startswith("{"):
        continue
    try:
        record = json.loads(line)
    except ValueError:
        continue
    if record.get("level") in ("WARN", "ERROR"):
        message = record.get("fields", {}).get("message", "")
        counts[(record["level"], record.get("target", "?"), message)] += 1
print(f"warnings and errors logged by the system during the run: {sum(counts.values())}")
for (level, target, message), n in counts.most_common():
    print(f"  {n:>6}  {level:<5} {target}: {message}")
PY
exit $status
