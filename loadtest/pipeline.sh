#!/usr/bin/env bash
# Measures the event pipeline against the database it runs on: starts the whole system
# (release build) on a setup of its own, runs the benchmark, then stops it and deletes
# everything it stored.
#
#   bash loadtest/pipeline.sh checkout [customers ...]   # default: 1 4 16 32 64
#   bash loadtest/pipeline.sh catalog [products]         # default: 100000
#   bash loadtest/pipeline.sh relay [events]             # default: 100000
#   bash loadtest/pipeline.sh notify                     # what a NOTIFY per commit costs
#
# checkout: pgbench TPC-B (scale 10, 8 clients, 20 s) as the yardstick, then
# `shop bench-checkout` at each number of customers, then pgbench again: both in the same run,
# since the machine's speed moves with whatever else runs on it. Prints the curve and the
# ratio of orders/s to pgbench TPS, with the load average, and after each run the CPU each
# program used during it (PostgreSQL, each service, nats-server), in all and per order.
# catalog: `shop up --products N` seeds a new catalog (two events per product); from the
# moment the seed is stored and the services begin to start, the time until the search service has merged and indexed
# all of it and the order service's replica has every product.
# notify: pgbench TPC-B as it is, then with a `pg_notify` in each transaction (what the outbox
# trigger did until the relay was woken in-process): PostgreSQL serializes notifying commits.
# relay: `shop bench-relay` — a backlog of N events in an outbox of its own, drained by the
# relay into JetStream and read back (each once, each product's in order).
#
# SHOP_BIN=<directory holding a `shop` binary> measures that build instead of building this
# checkout (an A/B run against another commit's build, on the same machine at the same time).
#
# Setup: ports $PORT_BASE..+4 (9180), databases/namespace/Redis prefix $PREFIX (pb), index
# /tmp/$PREFIX-search-index; it never touches a `shop up` on the default ports.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-checkout}
shift || true
PORT_BASE=${PORT_BASE:-9180}
PREFIX=${PREFIX:-pb}
PG=postgres://postgres@127.0.0.1:5432

export GATEWAY_LISTEN_ADDR=127.0.0.1:$PORT_BASE USER_LISTEN_ADDR=127.0.0.1:$((PORT_BASE + 1))
export PRODUCT_LISTEN_ADDR=127.0.0.1:$((PORT_BASE + 2)) ORDER_LISTEN_ADDR=127.0.0.1:$((PORT_BASE + 3))
export SEARCH_LISTEN_ADDR=127.0.0.1:$((PORT_BASE + 4))
export USER_DATABASE_URL=$PG/${PREFIX}_users PRODUCT_DATABASE_URL=$PG/${PREFIX}_products
export ORDER_DATABASE_URL=$PG/${PREFIX}_orders SEARCH_DATABASE_URL=$PG/${PREFIX}_search
export EVENT_NAMESPACE=$PREFIX SEARCH_INDEX_DIR=/tmp/$PREFIX-search-index REDIS_KEY_PREFIX=$PREFIX:gateway:
export LOG_FORMAT=json RUST_LOG=warn
unset PRODUCT_SERVICE_URL USER_UPSTREAMS PRODUCT_UPSTREAMS ORDER_UPSTREAMS SEARCH_UPSTREAMS

if [ -n "${SHOP_BIN:-}" ]; then
    BIN=$SHOP_BIN
else
    cargo build --release -q -p shop
    BIN=${CARGO_TARGET_DIR:-target}/release
fi
WORK=$(mktemp -d)
SHOP=

stop_shop() {
    if [ -n "$SHOP" ]; then
        kill -INT "$SHOP" 2>/dev/null && wait "$SHOP" || true
        SHOP=
    fi
}
cleanup() {
    stop_shop
    "$BIN/shop" reset --yes >/dev/null || true
    dropdb --if-exists -h 127.0.0.1 -U postgres "${PREFIX}_pgbench" 2>/dev/null || true
    if command -v redis-cli >/dev/null; then
        redis-cli --scan --pattern "${REDIS_KEY_PREFIX}*" | xargs -r redis-cli del >/dev/null
    fi
    rm -rf "$WORK" "$SEARCH_INDEX_DIR"
}
trap cleanup EXIT

# Waits until `shop up`'s log shows $1.
wait_for() {
    until grep -q "$1" "$WORK/shop.log"; do
        kill -0 "$SHOP" 2>/dev/null || { cat "$WORK/shop.log"; exit 1; }
        sleep 0.1
    done
}

start_shop() {
    "$BIN/shop" reset --yes >/dev/null
    # The launcher says when the seed is stored (its info log).
    RUST_LOG=warn,shop::launcher=info "$BIN/shop" up "$@" >"$WORK/shop.log" 2>&1 &
    SHOP=$!
}

load() { cut -d' ' -f1-3 /proc/loadavg; }

pgbench_tps() {
    pgbench -h 127.0.0.1 -U postgres -c 8 -j 2 -T 20 -n "${PREFIX}_pgbench" 2>/dev/null |
        awk '/^tps/ {printf "%.0f", $3; exit}'
}

# CPU time (clock ticks, user + system) of every process now running, summed per program:
# `shop serve <what>` by what it serves, the rest by command name (all PostgreSQL backends as
# one `postgres`, all kernel workers as one: a worker's name changes with the work it does, and
# a name missing from the first snapshot would count the worker's whole lifetime). Two
# snapshots, subtracted, say where a run's CPU went.
cpu_snapshot() {
    for stat in /proc/[0-9]*/stat; do
        dir=${stat%/stat}
        read -r -a f <"$stat" 2>/dev/null || continue
        name=${f[1]//[()]/}
        [[ $name == kworker/* ]] && name="kernel workers"
        if [ "$name" = shop ]; then
            mapfile -d '' -t argv <"$dir/cmdline" 2>/dev/null || true
            [ "${argv[1]:-}" = serve ] && name="shop serve ${argv[2]:-}"
        fi
        # Fields after the name; a name with spaces would shift them, but none here has one.
        echo "$name	$((f[13] + f[14]))"
    done 2>/dev/null | awk -F'\t' '{t[$1] += $2} END {for (n in t) print n "\t" t[n]}'
}
# The CPU used between snapshots $1 and $2 (files), per program, busiest first, and per order;
# $3 is the run's wall time in seconds (to give cores busy), $4 the orders it placed. Programs
# under 1 % are left out.
cpu_report() {
    awk -F'\t' -v hz="$(getconf CLK_TCK)" -v wall="$3" -v orders="$4" '
        NR == FNR {before[$1] = $2; next}
        {d = $2 - before[$1]; if (d > 0) {used[$1] = d; total += d}}
        END {
            printf "all\t%.1f\t%.2f\t100 %% (%.2f cores busy)\n", total / hz, 1000 * total / hz / orders, total / hz / wall
            for (n in used) if (100 * used[n] >= total)
                printf "%s\t%.1f\t%.2f\t%.0f %%\n", n, used[n] / hz, 1000 * used[n] / hz / orders, 100 * used[n] / total
        }' "$1" "$2" | sort -t$'\t' -k2,2 -rn |
        awk -F'\t' '{printf "      %-20s %6s s CPU  %5s ms/order  %s\n", $1, $2, $3, $4}'
}

# Transactions so far (committed and rolled back) in each of this setup's databases.
xact_snapshot() {
    psql -qtA -F$'\t' "$PG/postgres" -c "SELECT datname, xact_commit + xact_rollback FROM pg_stat_database
                                        WHERE datname LIKE '${PREFIX}\_%' AND datname <> '${PREFIX}_pgbench'"
}
# Transactions per order in each database between snapshots $1 and $2; $3 is the orders.
xact_report() {
    awk -F'\t' -v orders="$3" '
        NR == FNR {before[$1] = $2; next}
        {d = $2 - before[$1]; total += d; line = line sprintf("%s %.1f · ", $1, d / orders)}
        END {printf "      transactions per order: %s all %.1f\n", line, total / orders}' "$1" "$2"
}

# The events each consumer has applied (its inbox) and, for search, the rows not yet indexed.
inbox() { psql -qtA "$1" -c "SELECT count(*) FROM inbox WHERE consumer = '$2'"; }

case $what in
checkout)
    [ $# -eq 0 ] && set -- 1 4 16 32 64
    createdb -h 127.0.0.1 -U postgres "${PREFIX}_pgbench"
    pgbench -h 127.0.0.1 -U postgres -i -s 10 -q "${PREFIX}_pgbench" 2>/dev/null
    before=$(pgbench_tps)
    echo "pgbench TPC-B (scale 10, 8 clients, 20 s): $before TPS; load average $(load)"
    start_shop --no-rate-limits
    wait_for Ctrl-C
    printf '\n| customers | orders | orders/s | × pgbench | p50 | p90 | p99 | max | load average |\n'
    printf '|---:|---:|---:|---:|---:|---:|---:|---:|---|\n'
    for customers in "$@"; do
        orders=$((customers < 4 ? 300 : customers * 100))
        cpu_snapshot >"$WORK/cpu.before"
        xact_snapshot >"$WORK/xact.before"
        started=$(date +%s.%N)
        out=$("$BIN/shop" bench-checkout --orders "$orders" --concurrency "$customers")
        wall=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
        cpu_snapshot >"$WORK/cpu.after"
        # Backends report their counts within a second of their last transaction.
        sleep 1.5
        xact_snapshot >"$WORK/xact.after"
        rate=$(awk '/throughput/ {print $2}' <<<"$out")
        # "placed → confirmed  p50 4.2 ms   p90 4.8 ms   p99 7.1 ms   max 11.7 ms   (n = 200)"
        read -r p50 p90 p99 max < <(grep 'placed → confirmed' <<<"$out" |
            awk '{for (i = 1; i < NF; i++) if ($i ~ /^(p50|p90|p99|max)$/) printf "%s_ms ", $(i + 1); print ""}')
        ratio=$(awk -v r="$rate" -v t="$before" 'BEGIN {printf "%.3f", r / t}')
        echo "| $customers | $orders | $rate | $ratio | ${p50/_/ } | ${p90/_/ } | ${p99/_/ } | ${max/_/ } | $(load) |"
        grep -E 'confirmed|other outcomes' <<<"$out" | grep -v '→' | sed 's/^/    /' >&2
        # The benchmark itself has exited by now; its CPU is not in the list.
        echo "    CPU during the run, per program (the benchmark client excluded):" >&2
        cpu_report "$WORK/cpu.before" "$WORK/cpu.after" "$wall" "$orders" >&2
        xact_report "$WORK/xact.before" "$WORK/xact.after" "$orders" >&2
    done
    stop_shop
    after=$(pgbench_tps)
    echo
    echo "pgbench TPC-B again after the runs: $after TPS; load average $(load)"
    ;;
catalog)
    products=${1:-100000}
    start_shop --products "$products"
    # The catalog is in the product database with its events in the outbox; the services start.
    wait_for "demo data loaded"
    ready=$(date +%s.%N)
    echo "seeded; from now on (load average $(load)), until the catalog's events are applied…"
    events() { psql -qtA "$PRODUCT_DATABASE_URL" -c "SELECT count(*) FROM outbox WHERE subject LIKE '$1'"; }
    product_events=$(events 'product.%')
    stock_events=$(events 'inventory.adjusted')
    echo "events in the product service's outbox: $product_events product.*, $stock_events inventory.adjusted"
    search_done= order_done=
    while [ -z "$search_done" ] || [ -z "$order_done" ]; do
        now=$(date +%s.%N)
        if [ -z "$order_done" ] && [ "$(inbox "$ORDER_DATABASE_URL" order-catalog)" -ge "$product_events" ]; then
            order_done=$(awk -v a="$ready" -v b="$now" 'BEGIN {printf "%.1f", b - a}')
            echo "order replica: all $product_events product events applied after $order_done s"
        fi
        if [ -z "$search_done" ] &&
            [ "$(inbox "$SEARCH_DATABASE_URL" search-products)" -ge "$product_events" ] &&
            [ "$(inbox "$SEARCH_DATABASE_URL" search-stock)" -ge "$stock_events" ] &&
            [ "$(psql -qtA "$SEARCH_DATABASE_URL" -c 'SELECT count(*) FROM catalog WHERE projected_revision < revision')" = 0 ]; then
            search_done=$(awk -v a="$ready" -v b="$now" 'BEGIN {printf "%.1f", b - a}')
            echo "search: all $((product_events + stock_events)) events merged and indexed after $search_done s"
        fi
        sleep 0.5
    done
    awk -v e="$((product_events + stock_events))" -v s="$search_done" -v p="$product_events" -v o="$order_done" \
        'BEGIN {printf "search: %.0f events/s · order replica: %.0f events/s\n", e / s, p / o}'
    echo "load average $(load)"
    ;;
notify)
    createdb -h 127.0.0.1 -U postgres "${PREFIX}_pgbench"
    pgbench -h 127.0.0.1 -U postgres -i -s 10 -q "${PREFIX}_pgbench" 2>/dev/null
    # The built-in TPC-B script, with one notification before the commit.
    pgbench -h 127.0.0.1 -U postgres --show-script=tpcb-like 2>&1 | sed -n '/^\\set/,$p' |
        sed "s/^END;/SELECT pg_notify('outbox', '');\nEND;/" >"$WORK/tpcb-notify.sql"
    plain=$(pgbench_tps)
    notify=$(pgbench -h 127.0.0.1 -U postgres -c 8 -j 2 -T 20 -n -f "$WORK/tpcb-notify.sql" "${PREFIX}_pgbench" 2>/dev/null |
        awk '/^tps/ {printf "%.0f", $3; exit}')
    echo "pgbench TPC-B (scale 10, 8 clients, 20 s): $plain TPS; with a pg_notify per transaction: $notify TPS"
    echo "load average $(load)"
    ;;
relay)
    echo "load average $(load)"
    "$BIN/shop" bench-relay --events "${1:-100000}"
    echo "load average $(load)"
    ;;
*)
    echo "usage: $0 checkout [customers ...] | catalog [products] | relay [events] | notify" >&2
    exit 2
    ;;
esac
