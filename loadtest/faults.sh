#!/usr/bin/env bash
# The fault suite: the system on infrastructure of its own — a PostgreSQL cluster, NATS
# (JetStream on disk) and Redis (append-only file, so sessions outlive a restart), on free
# ports 9400-9499, the system on 9500-9599, event namespace `flt`, Redis prefix
# `flt:gateway:`, everything in a temporary folder — under a buy-heavy load, while each
# component in turn is killed with SIGKILL: a service or the gateway is then restarted by
# `shop up`'s supervisor, PostgreSQL, NATS and Redis by this script after an outage of
# FAULTS_OUTAGE (3) seconds. Then the load test's reconciliation, and direct SQL checks of
# the suite's databases (loadtest/faults_report.py): every order terminal, no duplicate per
# idempotency key, stock exact, outboxes drained, inboxes complete. Per fault it reports the
# client errors, the time to recovery and the worst settle time, against the goals (at most
# 5 s with client errors, every order terminal at most 10 s after recovery).
#
#   bash loadtest/faults.sh          # every component, release build (about 5 minutes)
#   bash loadtest/faults.sh --ci     # order service, NATS, PostgreSQL, a short load; the
#                                    # debug build (already built by CI's tests)
#   bash loadtest/faults.sh --cluster [--ci]
#
# With --cluster, NATS is a JetStream cluster of three nodes (routes between them, a store
# directory each) with three copies of every stream (NATS_REPLICAS=3), and the faults are
# its nodes: `nats-node` SIGKILLs a node that does not lead the order stream, `nats-leader`
# the one that does, each started again after the outage. Goal added: client errors at most
# 1 % of the requests while a node is lost. Everything on ports 9600-9699, so it can run
# beside a single-server run.
#
# FAULTS picks the components (user product order search gateway nats redis postgres;
# with --cluster also nats-node nats-leader),
# FAULTS_RATE the journeys per second, FAULTS_SPACING the seconds from one fault to the
# next, FAULTS_BUILD the binaries (debug or release). The report goes to stdout and $FAULTS_OUT/report.md (default: a temporary folder,
# kept), the load test's own to $FAULTS_OUT/loadtest/. Everything the suite started is
# stopped and deleted at the end, failed or not. Exits non-zero if a check failed or a goal
# was missed; with --ci (a small shared machine) missed goals are reported, not gating.
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/system.sh

MODE=full
CLUSTER=
for arg in "$@"; do
    case $arg in
        --ci) MODE=ci ;;
        --cluster) CLUSTER=yes ;;
        *) echo "usage: $0 [--cluster] [--ci]" >&2; exit 2 ;;
    esac
done
if [ "$MODE" = ci ]; then
    PROFILE=${FAULTS_BUILD:-debug}
    DEFAULT_FAULTS="order nats postgres"
    RATE=${FAULTS_RATE:-6}
    SPACING=${FAULTS_SPACING:-15}
else
    PROFILE=${FAULTS_BUILD:-release}
    DEFAULT_FAULTS="user product order search gateway nats redis postgres"
    RATE=${FAULTS_RATE:-15}
    SPACING=${FAULTS_SPACING:-20}
fi
[ -n "$CLUSTER" ] && DEFAULT_FAULTS="nats-node nats-leader"
FAULTS=${FAULTS:-$DEFAULT_FAULTS}
if [ "$PROFILE" = release ]; then
    cargo build --release -q -p shop -p loadtest
else
    cargo build -q -p shop -p loadtest
fi
OUTAGE=${FAULTS_OUTAGE:-3}
WARM_UP=10
BIN=${CARGO_TARGET_DIR:-target}/$PROFILE
OUT=${FAULTS_OUT:-$(mktemp -d -t faults-report.XXXXXX)}
mkdir -p "$OUT"

WORK=$(mktemp -d -t faults.XXXXXX)
chmod 755 "$WORK"
SHOP= LOADTEST= NATS= REDIS=
NODE_PIDS=()
cleanup() {
    [ -n "$LOADTEST" ] && kill "$LOADTEST" 2>/dev/null || true
    [ -n "$SHOP" ] && { kill -INT "$SHOP" 2>/dev/null && wait "$SHOP" || true; }
    [ -n "$NATS" ] && kill "$NATS" 2>/dev/null || true
    for pid in "${NODE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -n "$REDIS" ] && kill "$REDIS" 2>/dev/null || true
    [ -f "$WORK/pg/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg" stop -m immediate >/dev/null 2>&1 || true
    wait 2>/dev/null || true
    # The logs, to tell what happened.
    cp "$WORK/shop.log" "$OUT/shop.log" 2>/dev/null || true
    cp "$WORK/pg/server.log" "$OUT/postgres.log" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ -n "$CLUSTER" ]; then
    read -r PG_PORT REDIS_PORT GW US PS OS SS c0 c1 c2 r0 r1 r2 m0 m1 m2 < <(free_ports 9600 9699 16)
    # Per node: clients, routes, monitoring.
    NODE_PORTS=("$c0" "$c1" "$c2") ROUTE_PORTS=("$r0" "$r1" "$r2") MONITOR_PORTS=("$m0" "$m1" "$m2")
else
    read -r PG_PORT NATS_PORT REDIS_PORT < <(free_ports 9400 9499 3)
    read -r GW US PS OS SS < <(free_ports 9500 9599 5)
fi

# --- the infrastructure of its own ------------------------------------------------------
PG_BIN=$(postgres_bin)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$WORK/pg"
[ "$(id -u)" = 0 ] && chown postgres: "$WORK/pg"
as_postgres "$PG_BIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --no-instructions >/dev/null
# After a crash PostgreSQL first syncs its data directory: file by file (the default) took
# about 5 s here, one syncfs() about 1 s.
start_postgres() {
    as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w -t 60 start \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 -c recovery_init_sync_method=syncfs" >/dev/null
}
start_nats() {
    nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$WORK/nats" >>"$WORK/nats.log" 2>&1 &
    NATS=$!
}
# Node $1 (0-2) of the cluster: a store of its own, routes to the other two.
start_node() {
    local n=$1 i routes=()
    for i in 0 1 2; do [ "$i" = "$n" ] || routes+=("nats://127.0.0.1:${ROUTE_PORTS[$i]}"); done
    nats-server -a 127.0.0.1 -p "${NODE_PORTS[$n]}" -m "${MONITOR_PORTS[$n]}" -js -sd "$WORK/nats-$n" \
        --server_name "node-$n" --cluster_name faults --cluster "nats://127.0.0.1:${ROUTE_PORTS[$n]}" \
        --routes "$(IFS=,; echo "${routes[*]}")" >>"$WORK/nats-$n.log" 2>&1 &
    NODE_PIDS[$n]=$!
}
start_redis() {
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$WORK" --appendonly yes \
        --appendfsync everysec --save "" >>"$WORK/redis.log" 2>&1 &
    REDIS=$!
}
postgres_up() { pg_isready -h 127.0.0.1 -p "$PG_PORT" -q; }
nats_up() { (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null; }
# Node $1 serves, its JetStream current with the cluster's (its /healthz answers 200 then).
node_up() { curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:${MONITOR_PORTS[$1]}/healthz"; }
cluster_up() { node_up 0 && node_up 1 && node_up 2; }
redis_up() { [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
start_postgres
start_redis
if [ -n "$CLUSTER" ]; then
    for n in 0 1 2; do start_node "$n"; done
    until cluster_up && redis_up; do sleep 0.2; done
else
    start_nats
    until nats_up && redis_up; do sleep 0.2; done
fi

# --- the system -------------------------------------------------------------------------
export GATEWAY_LISTEN_ADDR=127.0.0.1:$GW USER_LISTEN_ADDR=127.0.0.1:$US PRODUCT_LISTEN_ADDR=127.0.0.1:$PS
export ORDER_LISTEN_ADDR=127.0.0.1:$OS SEARCH_LISTEN_ADDR=127.0.0.1:$SS
for service in user product order search; do
    export "${service^^}_DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/flt_$service"
done
if [ -n "$CLUSTER" ]; then
    NATS_URL=$(printf 'nats://127.0.0.1:%s,' "${NODE_PORTS[@]}")
    export NATS_URL=${NATS_URL%,} NATS_REPLICAS=3
else
    export NATS_URL=nats://127.0.0.1:$NATS_PORT NATS_REPLICAS=1
fi
export REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export EVENT_NAMESPACE=flt REDIS_KEY_PREFIX=flt:gateway: SEARCH_INDEX_DIR=$WORK/index SHOP_DATA_DIR=$WORK/data
export LOG_FORMAT=json RUST_LOG=warn
unset_stage_env
echo "faults: $MODE run ($PROFILE build), PostgreSQL :$PG_PORT, NATS ${NATS_URL//nats:\/\/127.0.0.1/} (R$NATS_REPLICAS), Redis :$REDIS_PORT, gateway :$GW"
start_shop "$BIN/shop" "$WORK/shop.log" --products 64 --no-rate-limits
SHOP=$SHOP_PID
RUN_FILE=$WORK/data/run/$GW.json

# The pid the run file gives the process labelled "$1" (`shop up` rewrites it on a restart).
pid_of() { python3 -c 'import json, sys
print(next(p["pid"] for p in json.load(open(sys.argv[1]))["processes"] if p["label"] == sys.argv[2]))' "$RUN_FILE" "$1"; }
answers() { curl -sf -o /dev/null --max-time 1 "$1/healthz"; }
# How to tell each component is back, and what to kill.
component_up() {
    case $1 in
        user) answers "http://$USER_LISTEN_ADDR" ;;
        product) answers "http://$PRODUCT_LISTEN_ADDR" ;;
        order) answers "http://$ORDER_LISTEN_ADDR" ;;
        search) answers "http://$SEARCH_LISTEN_ADDR" ;;
        gateway) answers "http://$GATEWAY_LISTEN_ADDR" ;;
        nats) nats_up ;;
        nats-node | nats-leader) node_up "$VICTIM" ;;
        redis) redis_up ;;
        postgres) postgres_up ;;
    esac
}
kill_component() {
    case $1 in
        user | product | order | search) kill -9 "$(pid_of "$1 service")" ;;
        gateway) kill -9 "$(pid_of gateway)" ;;
        nats) kill -9 "$NATS"; wait "$NATS" 2>/dev/null || true ;;
        nats-node | nats-leader)
            local leader
            leader=$(stream_leader flt_order)
            if [ "$1" = nats-leader ]; then
                VICTIM=$leader
            else
                VICTIM=$(( (leader + 1) % 3 ))
            fi
            kill -9 "${NODE_PIDS[$VICTIM]}"; wait "${NODE_PIDS[$VICTIM]}" 2>/dev/null || true
            ;;
        redis) kill -9 "$REDIS"; wait "$REDIS" 2>/dev/null || true ;;
        # The database host crashing: the postmaster and every backend at once.
        postgres)
            local postmaster
            postmaster=$(head -1 "$WORK/pg/postmaster.pid")
            kill -9 "$postmaster" $(pgrep -P "$postmaster") 2>/dev/null || true
            while kill -0 "$postmaster" 2>/dev/null || pgrep -P "$postmaster" >/dev/null; do sleep 0.1; done
            ;;
    esac
}
restart_component() {
    case $1 in
        nats) sleep "$OUTAGE"; start_nats ;;
        nats-node | nats-leader) sleep "$OUTAGE"; start_node "$VICTIM" ;;
        redis) sleep "$OUTAGE"; start_redis ;;
        postgres) sleep "$OUTAGE"; start_postgres ;;
        *) ;; # the supervisor restarts it
    esac
}

# Every stream of the namespace as the first node that answers sees it: name, copies, leader.
streams() {
    local n
    for n in 0 1 2; do
        curl -sf --max-time 1 "http://127.0.0.1:${MONITOR_PORTS[$n]}/jsz?streams=true&config=true" | python3 -c 'import json, sys
for account in json.load(sys.stdin).get("account_details", []):
    for s in account.get("stream_detail", []):
        if s["name"].startswith("flt_"):
            print(s["name"], s["config"]["num_replicas"], s.get("cluster", {}).get("leader", "-"))' && return
    done
}
# The number (0-2) of the node leading stream $1.
stream_leader() {
    local name copies leader listed
    listed=$(streams)
    while read -r name copies leader; do
        [ "$name" = "$1" ] && { echo "${leader#node-}"; return; }
    done <<<"$listed"
    echo "faults: no leader of stream $1" >&2
    return 1
}
if [ -n "$CLUSTER" ]; then
    until [ "$(streams | wc -l)" = 5 ]; do sleep 0.5; done
    echo "faults: streams (copies, leader):" $(streams | tr ' ' ',')
    if streams | awk '$2 != 3 { bad = 1 } END { exit !bad }'; then
        echo "faults: a stream has not 3 copies" >&2
        exit 1
    fi
fi

# A cluster running for a while has checkpointed recently; a fresh one would replay all of
# its set-up (databases, migrations, the demo data) after the crash.
psql "postgres://postgres@127.0.0.1:$PG_PORT/postgres" -qc CHECKPOINT
# Stock before the load, for the SQL checks.
psql "$PRODUCT_DATABASE_URL" -Atq -F $'\t' -c "select product_id, on_hand, reserved, sold from inventory" >"$OUT/stock-before.tsv"

set -- $FAULTS
SECONDS_OF_LOAD=$((WARM_UP + $# * SPACING + 5))
# Buy-heavy: half the journeys check out.
"$BIN/loadtest" --profile standard --base-url "http://$GATEWAY_LISTEN_ADDR" --rate "$RATE" --seconds "$SECONDS_OF_LOAD" \
    --mix browse=20,search=15,buy=50,orders=10,cancel=5 --users 60 --products 40 --fail-on-errors false \
    --settle-seconds 30 --out "$OUT/loadtest" >"$OUT/loadtest.txt" 2>"$OUT/loadtest.log" &
LOADTEST=$!
wait_for_log "$LOADTEST" "$OUT/loadtest.log" "products in the working set"
echo "faults: load running ($RATE journeys/s for $SECONDS_OF_LOAD s); faults every $SPACING s: $FAULTS"
sleep "$WARM_UP"
now() { date +%s.%N; }
printf 'component\tkilled\tback\n' >"$OUT/faults.tsv"
for component in "$@"; do
    started=$(date +%s)
    killed=$(now)
    kill_component "$component"
    restart_component "$component"
    until component_up "$component"; do sleep 0.1; done
    back=$(now)
    case $component in
        nats-node | nats-leader) label="$component (node-$VICTIM)" ;;
        *) label=$component ;;
    esac
    printf '%s\t%s\t%s\n' "$label" "$killed" "$back" >>"$OUT/faults.tsv"
    echo "faults: $label killed, back after $(python3 -c "print(f'{$back - $killed:.1f}')") s"
    rest=$((started + SPACING - $(date +%s)))
    [ "$rest" -gt 0 ] && sleep "$rest"
done

status=0
wait "$LOADTEST" || status=$?
LOADTEST=
cat "$OUT/loadtest.txt"
python3 loadtest/faults_report.py --mode "$MODE" ${CLUSTER:+--cluster} --out "$OUT" || status=1
echo "faults: report in $OUT/report.md"
exit $status
