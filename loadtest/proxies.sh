#!/usr/bin/env bash
# One run, one trivial upstream, one set of wrk settings: nginx, HAProxy and the gateway proxy
# the same upstream, one after the other, and the script prints a markdown table of
# requests/s, p50 and p99 with the ratios to HAProxy and to nginx.
#
#   bash loadtest/proxies.sh [seconds] [connections] [wrk threads]      # defaults: 10 64 1
#
# Rows:
# - nginx (1 worker, upstream keep-alive) and HAProxy (`nbthread 1`, `http-reuse always`), both
#   adding X-Forwarded-For, as the anchors;
# - the gateway in its default configuration — rate limits on (in Redis, with limits high
#   enough that a benchmark from one IP never reaches them), access log at the default level,
#   sessions, request id, traceparent, metrics — on an anonymous request;
# - the same gateway with a signed-in session cookie: the session is read from Redis and an
#   identity token minted for every request, the path every shopper takes. The session is
#   made by signing in through the gateway (`POST /api/auth/login`) against a stand-in for the
#   user service's credential check, served by the upstream;
# - the gateway with one feature off at a time, to show what each costs: rate limiting
#   (`RATE_LIMIT_PER_MINUTE=0`), the access log (`RUST_LOG=warn`).
#
# Placement: nothing is pinned by default, so the proxy, the upstream, Redis and wrk share
# every core, as they do for the other measurements in docs/benchmarks.md. To pin, set
# PROXY_CPUS and WRK_CPUS (taskset lists, e.g. PROXY_CPUS=0 WRK_CPUS=1): the proxy under test
# then runs on PROXY_CPUS, wrk on WRK_CPUS, the upstream and Redis wherever the kernel puts them.
#
# Needs Debian's nginx, haproxy and wrk (installed if missing) and Redis on 127.0.0.1:6379.
# Everything listens on loopback ports PORT_BASE..PORT_BASE+3 (default 18090) and stops at
# the end; the gateway's Redis keys (under REDIS_KEY_PREFIX, default `bench:gateway:<pid>:`)
# are deleted.
set -euo pipefail
cd "$(dirname "$0")/.."
. loadtest/trivial-upstream.sh

DURATION=${1:-10}
CONNECTIONS=${2:-64}
THREADS=${3:-1}
PORT_BASE=${PORT_BASE:-18090}
UPSTREAM_PORT=$PORT_BASE
NGINX_PORT=$((PORT_BASE + 1))
HAPROXY_PORT=$((PORT_BASE + 2))
GATEWAY_PORT=$((PORT_BASE + 3))
PREFIX=${REDIS_KEY_PREFIX:-bench:gateway:$$:}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
WORK=$(mktemp -d)
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    for pid in "$WORK"/*.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
    redis-cli --scan --pattern "$PREFIX*" | xargs -r redis-cli del >/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v nginx >/dev/null || ! command -v haproxy >/dev/null || ! command -v wrk >/dev/null; then
    echo "installing nginx, haproxy and wrk (Debian packages)…"
    apt-get install -y -qq nginx haproxy wrk >/dev/null
fi

# GATEWAY_BIN measures a gateway built elsewhere (e.g. before a change) instead of this tree's.
GATEWAY_BIN=${GATEWAY_BIN:-}
if [ -z "$GATEWAY_BIN" ]; then
    echo "building the gateway (release)…"
    cargo build --release -q -p gateway
    GATEWAY_BIN=$TARGET_DIR/release/gateway
fi

# Runs a command on the CPUs of the list (or anywhere when it is empty), in this process:
# called in a background subshell, the job's pid is the command's own.
on_cpus() { # cpus command…
    local cpus=$1
    shift
    if [ -n "$cpus" ]; then exec taskset -c "$cpus" "$@"; else exec "$@"; fi
}

# The upstream (loadtest/trivial-upstream.sh).
start_trivial_upstream "$UPSTREAM_PORT" "$WORK"

cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream trivial { server 127.0.0.1:$UPSTREAM_PORT; keepalive 128; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        keepalive_requests 1000000;
        location / {
            proxy_pass http://trivial;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
CONF
(on_cpus "${PROXY_CPUS:-}" nginx -c "$WORK/nginx.conf" -p "$WORK")

cat > "$WORK/haproxy.cfg" <<CONF
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    http-reuse always
    option forwardfor
frontend proxy
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend trivial
backend trivial
    server upstream 127.0.0.1:$UPSTREAM_PORT
CONF
(on_cpus "${PROXY_CPUS:-}" haproxy -f "$WORK/haproxy.cfg" -db) > "$WORK/haproxy.log" 2>&1 &
echo $! > "$WORK/haproxy.pid"

# One gateway at a time, started with the default configuration plus the given variables.
# The per-IP and per-session limits are raised (not turned off) so that one benchmarking IP
# never reaches them while every request is still counted.
start_gateway() { # extra environment assignments…
    if curl -s -o /dev/null "http://127.0.0.1:$GATEWAY_PORT/"; then
        echo "port $GATEWAY_PORT is taken: a gateway from an earlier run?" >&2
        exit 1
    fi
    (on_cpus "${PROXY_CPUS:-}" env GATEWAY_LISTEN_ADDR=127.0.0.1:$GATEWAY_PORT \
        PRODUCT_UPSTREAMS=http://127.0.0.1:$UPSTREAM_PORT \
        USER_UPSTREAMS=http://127.0.0.1:$UPSTREAM_PORT \
        ORDER_UPSTREAMS=http://127.0.0.1:$UPSTREAM_PORT \
        RATE_LIMIT_PER_MINUTE=100000000 \
        SESSION_RATE_LIMIT_PER_MINUTE=100000000 \
        REDIS_KEY_PREFIX="$PREFIX" \
        SHOP_DEVELOPMENT=true \
        "$@" \
        "$GATEWAY_BIN") > "$WORK/gateway.log" 2>&1 &
    echo $! > "$WORK/gateway.pid"
    wait_for $GATEWAY_PORT
}
stop_gateway() {
    local pid
    pid=$(cat "$WORK/gateway.pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -f "$WORK/gateway.pid"
}
wait_for() { # port
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$1/api/products" >/dev/null && return
        sleep 0.1
    done
    echo "nothing answers on port $1" >&2
    exit 1
}

rows=()
measure() { # key label port [wrk options…]
    local key=$1 label=$2 port=$3
    shift 3
    (on_cpus "${WRK_CPUS:-}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" \
        "http://127.0.0.1:$port/api/products") > "$WORK/$key.txt"
    local errors
    errors=$(awk '/Non-2xx|Socket errors/ {print}' "$WORK/$key.txt")
    if [ -n "$errors" ]; then
        echo "$label: $errors" >&2
    fi
    rows+=("$key|$label")
    echo "  $label: $(awk '/Requests\/sec/ {print $2}' "$WORK/$key.txt") requests/s" >&2
}

wait_for $NGINX_PORT
wait_for $HAPROXY_PORT
echo "wrk: $THREADS thread(s), $CONNECTIONS connections, ${DURATION}s per row, GET /api/products, $(nproc) cores" >&2
measure nginx "nginx $(nginx -v 2>&1 | sed 's|.*/||') (1 worker, upstream keep-alive)" $NGINX_PORT
measure haproxy "HAProxy $(haproxy -v | awk 'NR == 1 {print $3}') (\`nbthread 1\`, \`http-reuse always\`)" $HAPROXY_PORT

start_gateway
measure gateway "gateway, default configuration" $GATEWAY_PORT
cookie=$(curl -fs -o /dev/null -c - -H 'content-type: application/json' \
    -d '{"email":"bench@shop.local","password":"benchmark"}' \
    "http://127.0.0.1:$GATEWAY_PORT/api/auth/login" | awk '$6 == "shop_session" {print $7}')
if [ -z "$cookie" ]; then
    echo "signing in through the gateway gave no session cookie" >&2
    exit 1
fi
signed_in=$(curl -fs -b "shop_session=$cookie" "http://127.0.0.1:$GATEWAY_PORT/api/auth/session")
case $signed_in in *'"authenticated":true'*) ;; *) echo "the session is not signed in: $signed_in" >&2; exit 1 ;; esac
measure session "gateway, signed-in session (Redis session, identity token)" $GATEWAY_PORT \
    -H "Cookie: shop_session=$cookie"
stop_gateway

start_gateway RATE_LIMIT_PER_MINUTE=0 SESSION_RATE_LIMIT_PER_MINUTE=0
measure nolimit "gateway, rate limiting off" $GATEWAY_PORT
stop_gateway

start_gateway RUST_LOG=warn
measure nolog "gateway, access log off (\`RUST_LOG=warn\`)" $GATEWAY_PORT
stop_gateway

# wrk prints latencies with their unit (us, ms, s); the table shows milliseconds.
to_ms() { awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000
    printf "%.2f", n }'; }
echo
echo "| proxy | requests/s | p50 (ms) | p99 (ms) | vs HAProxy | vs nginx |"
echo "|---|---:|---:|---:|---:|---:|"
nginx_rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/nginx.txt")
haproxy_rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/haproxy.txt")
for row in "${rows[@]}"; do
    key=${row%%|*}
    label=${row#*|}
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$key.txt")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$WORK/$key.txt")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$WORK/$key.txt")")
    awk -v l="$label" -v r="$rps" -v p50="$p50" -v p99="$p99" -v h="$haproxy_rps" -v n="$nginx_rps" \
        'function thousands(x,  s) { s = sprintf("%d", x); while (s ~ /[0-9]{4}/) sub(/[0-9]{3}($|,)/, ",&", s); return s }
         BEGIN { printf "| %s | %s | %s | %s | %.2f | %.2f |\n", l, thousands(r), p50, p99, r / h, r / n }'
done
