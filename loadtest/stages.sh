#!/usr/bin/env bash
# Measures the evolution stages the same way: each stage from nothing on a setup of its own
# (public port 9180, instances 9191+, databases st_* or the stage's own database server on
# port 5450, event namespace `st`, Redis prefixes `st:gateway:` and `st:cache:`, a data folder
# of its own; STAGES_PORT, STAGES_DATABASE_PORT and STAGES_NAMESPACE move them, so two runs
# can share a machine), rate
# limits off, the same load-test profiles against it one after the other (each ends with the
# load test's reconciliation), CPU and RSS sampled for every process of the stage —
# infrastructure included: PostgreSQL, and for the services NATS and Redis — then torn down
# and everything it stored deleted. It never touches a `shop up` on the default ports.
#
#   bash loadtest/stages.sh [stage ...]   # default: monolith separate-database cache cluster read-replica search-engine
#                                         #   database-per-business sharding services
#                                         # (read-replica: its standby on STAGES_DATABASE_PORT + 1;
#                                         # database-per-business: its four servers from STAGES_DATABASE_PORT up;
#                                         # sharding: those and the second order shard's, five in all)
#   bash loadtest/stages.sh search [products ...]   # default: 1200 100000
#
# `search` times stage 6's question instead: the same query mix (`shop bench-search
# --queries-only`, one search at a time) against SQL search (the separate-database stage) and
# the index (the search-engine stage) — the same process layout and pinning, only the search
# differs — at each catalog size, per kind of query, with how many of each kind find anything.
#
# Reports go to docs/stages/results/<stage>/<profile>/ (or $STAGES_OUT/…), then
# loadtest/stages_table.py writes docs/stages/results.md and docs/stages/ladder.svg from them
# (with STAGES_OUT, results.md and ladder.svg go into that folder instead).
# STAGE_PROFILES picks the profiles (default: "standard stress"); LOADTEST_ARGS adds loadtest
# flags to every run (e.g. "--seconds 60"); ACME_AIR=1 also runs the search-engine stage's
# monolith unpinned ("monolith-unpinned"), for the like-for-like comparison with the services
# on the same two CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/system.sh

MODE=stages
if [ "${1:-}" = search ]; then
    MODE=search
    shift
    [ $# -eq 0 ] && set -- 1200 100000
else
    [ $# -eq 0 ] && set -- monolith separate-database cache cluster read-replica search-engine database-per-business sharding services
    [ "${ACME_AIR:-0}" = 1 ] && set -- "$@" monolith-unpinned
fi
PROFILES=${STAGE_PROFILES:-standard stress}
OUT=${STAGES_OUT:-docs/stages/results}

PORT=${STAGES_PORT:-9180}
DB_PORT=${STAGES_DATABASE_PORT:-5450}
NS=${STAGES_NAMESPACE:-st}
export GATEWAY_LISTEN_ADDR=127.0.0.1:$PORT
export USER_LISTEN_ADDR=127.0.0.1:$((PORT + 1)) PRODUCT_LISTEN_ADDR=127.0.0.1:$((PORT + 2))
export ORDER_LISTEN_ADDR=127.0.0.1:$((PORT + 3)) SEARCH_LISTEN_ADDR=127.0.0.1:$((PORT + 4))
export EVENT_NAMESPACE=$NS REDIS_KEY_PREFIX=$NS:gateway: CACHE_KEY_PREFIX=$NS:cache:
export LOG_FORMAT=json RUST_LOG=warn
unset PRODUCT_SERVICE_URL USER_UPSTREAMS PRODUCT_UPSTREAMS ORDER_UPSTREAMS SEARCH_UPSTREAMS SITE_UPSTREAMS
unset LB_POLICY SESSION_STORE SHOP_SEARCH SHOP_STAGE_DATABASE_URL SEARCH_INDEX_DIR CATALOG_CACHE
unset USER_DATABASE_URL PRODUCT_DATABASE_URL ORDER_DATABASE_URL SEARCH_DATABASE_URL

cargo build --release -q -p shop -p loadtest
BIN=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
chmod 755 "$WORK"
SHOP=

stop_shop() {
    if [ -n "$SHOP" ]; then
        kill -INT "$SHOP" 2>/dev/null && wait "$SHOP" || true
        SHOP=
    fi
}

# The services stage's own databases, streams and index: never the machine's default ones.
SERVICES_ENV=(
    USER_DATABASE_URL=postgres://postgres@127.0.0.1:5432/${NS}_user
    PRODUCT_DATABASE_URL=postgres://postgres@127.0.0.1:5432/${NS}_product
    ORDER_DATABASE_URL=postgres://postgres@127.0.0.1:5432/${NS}_order
    SEARCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/${NS}_search
    SEARCH_INDEX_DIR="$WORK/services-index"
)

forget() {
    stop_shop
    env "${SERVICES_ENV[@]}" "$BIN/shop" reset --yes >/dev/null 2>&1 || true
    if command -v redis-cli >/dev/null; then
        for prefix in "$REDIS_KEY_PREFIX" "$CACHE_KEY_PREFIX"; do
            redis-cli --scan --pattern "${prefix}*" | xargs -r redis-cli del >/dev/null
        done
    fi
}
trap 'forget; rm -rf "$WORK"' EXIT

# The processes of the stage: everything `shop up` started, the stage's database server and
# its backends (and the machine's Redis for the cache stage), and for the services the
# machine's NATS and Redis and the backends serving the stage's databases.
stage_pids() {
    local stage=$1 data=$2
    pgrep -P "$SHOP" || true
    if stage_servers "$data" | grep -q .; then
        for server in $(stage_servers "$data"); do server_pids "$server"; done
        if [ "$stage" = cache ]; then pgrep -x redis-server || true; fi
    else
        psql -h 127.0.0.1 -U postgres -d postgres -Atc \
            "select pid from pg_stat_activity where datname like '${NS}\\_%'" || true
        pgrep -x nats-server || true
        pgrep -x redis-server || true
    fi
}

# The data folders of the stage's own database servers that run: the one of the monolith stages
# (stage-postgres), its standby (stage-postgres-replica), or a server per module
# (stage-postgres-users, …).
stage_servers() {
    local server
    for server in "$1"/stage-postgres*; do
        [ -f "$server/postmaster.pid" ] && echo "$server"
    done
    return 0
}

# The postmaster of the server in data folder $1 and its processes, if it runs.
server_pids() {
    [ -f "$1/postmaster.pid" ] || return 0
    local postmaster
    postmaster=$(head -1 "$1/postmaster.pid")
    echo "$postmaster"
    pgrep -P "$postmaster" || true
}

# Samples the standby's lag behind the primary five times a second until killed, a line each:
# the replay lag PostgreSQL measures (pg_stat_replication.replay_lag: from the primary's flush of
# a WAL record to the standby's report of having applied it, in ms; empty while no WAL flows)
# and the bytes of WAL not yet applied.
sample_replica_lag() {
    echo "select coalesce((extract(epoch from replay_lag) * 1000)::text, ''), pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)
          from pg_stat_replication \\watch 0.2" |
        psql -h 127.0.0.1 -p "$DB_PORT" -U postgres -d postgres -AtqF ' '
}

# replica_report OUT DATA SAMPLES: the split's numbers next to the run's report — the primary's
# and the standby's CPU (from the load test's samples of their processes), the standby's
# transactions and the lag's p50/p99.
replica_report() {
    local out=$1 data=$2 samples=$3
    server_pids "$data/stage-postgres" >"$out/primary.pids"
    server_pids "$data/stage-postgres-replica" >"$out/replica.pids"
    python3 - "$out" "$samples" <<'PY'
import json, sys
out, samples = sys.argv[1], sys.argv[2]
summary = json.load(open(f"{out}/summary.json"))
def cpu(pids_file):
    pids = {int(line) for line in open(pids_file) if line.strip()}
    return round(sum(r["avg_cpu_percent"] for r in summary["resources"] if r["pid"] in pids), 1)
lags, behind = [], []
for line in open(samples):
    fields = line.split()
    if len(fields) == 2:
        lags.append(float(fields[0]))
    if fields:
        behind.append(float(fields[-1]))
def pct(values, p):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * p))], 2) if values else None
report = {
    "primary_cpu_percent": cpu(f"{out}/primary.pids"),
    "replica_cpu_percent": cpu(f"{out}/replica.pids"),
    "lag_samples": len(behind),
    "replay_lag_ms_p50": pct(lags, 0.5), "replay_lag_ms_p99": pct(lags, 0.99), "replay_lag_ms_max": pct(lags, 1.0),
    "bytes_behind_p50": pct(behind, 0.5), "bytes_behind_p99": pct(behind, 0.99),
}
json.dump(report, open(f"{out}/replica.json", "w"))
print("   replica:", report)
PY
}

# Transactions each of the stage's database servers has run so far (each statement outside an
# explicit transaction is one), a line each: the server (`primary`, or the module whose server it
# is) and the count. The database load the cache stage takes away, and in the database-per-business
# stage how it divides between the businesses. The standby is left out. Empty for the services.
transactions() {
    local data=$1 server name port
    for server in $(stage_servers "$data"); do
        name=${server##*/stage-postgres}
        name=${name#-}
        [ "$name" = replica ] && continue
        port=$(sed -n 4p "$server/postmaster.pid")
        echo "${name:-primary} $(psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atc \
            "select sum(xact_commit + xact_rollback) from pg_stat_database" || echo 0)"
    done
}

# database_load OUT BEFORE AFTER: the run's database transactions per second, in all and per
# server, next to its report.
database_load() {
    local out=$1 before=$2 after=$3
    [ -n "$before" ] && [ -n "$after" ] || return 0
    python3 - "$out" "$before" "$after" <<'PY'
import json, sys
out = sys.argv[1]
before, after = ({line.split()[0]: int(line.split()[1]) for line in arg.splitlines() if line.strip()} for arg in sys.argv[2:4])
summary = json.load(open(f"{out}/summary.json"))
# The load test's set-up (its shoppers registered) and reconciliation are counted too, alike for every stage.
seconds = summary["load_seconds"]
by_server = {name: after[name] - before.get(name, 0) for name in after}
total = sum(by_server.values())
report = {
    "transactions": total,
    "transactions_per_s": round(total / seconds, 1),
    "by_server": {name: {"transactions": n, "transactions_per_s": round(n / seconds, 1)} for name, n in by_server.items()},
}
json.dump(report, open(f"{out}/database.json", "w"))
shares = ", ".join(f"{name} {n / seconds:.1f}/s" for name, n in by_server.items())
print(f"   database: {total} transactions, {total / seconds:.1f}/s ({shares})")
PY
}

# A fresh system indexes the demo catalog from its events for a while; wait until the
# consumers are idle, so the load test does not measure that backlog.
wait_for_consumers() {
    local metrics=$1 previous=-1 consumed
    while :; do
        consumed=$(curl -s "$metrics" | awk '/^events_consumed_total/ {n += $2} END {print n + 0}')
        [ "$consumed" = "$previous" ] && break
        previous=$consumed
        sleep 5
    done
}

# start_stage STAGE DATA [VAR=value ...]: runs the stage in the background, returns once it
# serves and its consumers are idle; sets METRICS to the URL watched for that.
start_stage() {
    local stage=$1 data=$2
    shift 2
    mkdir -p "$data"
    chmod 755 "$data"
    local args=(up --no-rate-limits) stage_env=(SHOP_DATA_DIR="$data" "$@")
    METRICS=http://127.0.0.1:$PORT/metrics
    case $stage in
        services)
            METRICS=http://127.0.0.1:$((PORT + 4))/metrics
            stage_env+=("${SERVICES_ENV[@]}")
            ;;
        # Each instance counts its own events; the proxy would alternate between them.
        cluster)
            args+=(--stage cluster --sessions redis --database-port "$DB_PORT")
            METRICS=http://127.0.0.1:$((PORT + 11))/metrics
            ;;
        monolith-unpinned) args+=(--stage search-engine --no-pin --database-port "$DB_PORT") ;;
        read-replica) args+=(--stage read-replica --database-port "$DB_PORT" --replica-port $((DB_PORT + 1))) ;;
        *) args+=(--stage "$stage" --database-port "$DB_PORT") ;;
    esac
    echo "== stage $stage: ${stage_env[*]:1} shop ${args[*]}"
    env "${stage_env[@]}" "$BIN/shop" "${args[@]}" >"$WORK/$stage.log" 2>&1 &
    SHOP=$!
    wait_for_log "$SHOP" "$WORK/$stage.log" "Ctrl-C"
    wait_for_consumers "$METRICS"
}

echo "system: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, commit $(git rev-parse --short HEAD)"
status=0
if [ "$MODE" = search ]; then
    for products in "$@"; do
        for stage in separate-database search-engine; do
            data="$WORK/$stage-data"
            started=$(date +%s)
            start_stage "$stage" "$data" SHOP_DEMO_PRODUCTS="$products"
            echo "   ready after $(($(date +%s) - started)) s (seeded, indexed, consumers idle)"
            SEARCH_LISTEN_ADDR=127.0.0.1:$PORT "$BIN/shop" bench-search --queries-only \
                --products "$products" --queries "${SEARCH_QUERIES:-2000}" || status=$?
            forget
            rm -rf "$data"
        done
    done
    exit $status
fi
for stage in "$@"; do
    data="$WORK/$stage-data"
    start_stage "$stage" "$data"
    pid_args=()
    for pid in $(stage_pids "$stage" "$data" | sort -un); do pid_args+=(--pid "$pid"); done
    for profile in $PROFILES; do
        before=$(transactions "$data")
        sampler=
        if [ -f "$data/stage-postgres-replica/postmaster.pid" ]; then
            sample_replica_lag >"$WORK/lag.txt" &
            sampler=$!
        fi
        # shellcheck disable=SC2086
        "$BIN/loadtest" --profile "$profile" --base-url "http://127.0.0.1:$PORT" --out "$OUT/$stage/$profile" \
            "${pid_args[@]}" ${LOADTEST_ARGS:-} || status=$?
        database_load "$OUT/$stage/$profile" "$before" "$(transactions "$data")"
        if [ -n "$sampler" ]; then
            kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
            replica_report "$OUT/$stage/$profile" "$data" "$WORK/lag.txt"
        fi
    done
    forget
    rm -rf "$data"
done
# A run into its own folder (STAGES_OUT) gets its table there; only the default run rewrites
# the ladder's page.
python3 loadtest/stages_table.py "$OUT" "$([ -n "${STAGES_OUT:-}" ] && echo "$OUT" || echo docs/stages)"
exit $status
