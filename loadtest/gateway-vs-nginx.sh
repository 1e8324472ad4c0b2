#!/usr/bin/env bash
# Measures the gateway proxying a trivial upstream against nginx proxying the same upstream,
# with the same load tool (wrk) and settings, and prints throughput, p50/p99 and their ratio.
#
#   bash loadtest/gateway-vs-nginx.sh [seconds] [connections]
#
# Needs Debian's nginx and wrk (installed if missing) and Redis on 127.0.0.1:6379 (the
# gateway's rate limiter and sessions). Everything listens on loopback only and stops at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-15}
CONNECTIONS=${2:-64}
THREADS=2
UPSTREAM_PORT=18090
NGINX_PORT=18091
GATEWAY_PORT=18092
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true; rm -rf "$WORK"' EXIT

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
    echo "installing nginx and wrk (Debian packages)…"
    apt-get install -y -qq nginx wrk >/dev/null
fi

echo "building the gateway (release)…"
cargo build --release -q -p gateway

# One nginx process serves both the trivial upstream and the nginx proxy in front of it.
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream trivial { server 127.0.0.1:$UPSTREAM_PORT; keepalive 128; }
    server {
        listen 127.0.0.1:$UPSTREAM_PORT;
        location / { default_type application/json; return 200 '{"items":[],"next_cursor":null}'; }
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://trivial;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK"

# The gateway twice: as configured by default (every request also counts against the per-IP
# rate limit in Redis, with a limit it never reaches), and with rate limiting off.
start_gateway() { # port rate-limit
    GATEWAY_LISTEN_ADDR=127.0.0.1:$1 \
    PRODUCT_UPSTREAMS=http://127.0.0.1:$UPSTREAM_PORT \
    USER_UPSTREAMS=http://127.0.0.1:$UPSTREAM_PORT \
    ORDER_UPSTREAMS=http://127.0.0.1:$UPSTREAM_PORT \
    RATE_LIMIT_PER_MINUTE=$2 \
    REDIS_KEY_PREFIX="bench:gateway:$$:" \
    SHOP_DEVELOPMENT=true \
    RUST_LOG=warn \
        ./target/release/gateway > "$WORK/gateway-$1.log" 2>&1 &
}
start_gateway $GATEWAY_PORT 100000000
start_gateway $((GATEWAY_PORT + 1)) 0

for port in $NGINX_PORT $GATEWAY_PORT $((GATEWAY_PORT + 1)); do
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$port/api/products" >/dev/null && break
        sleep 0.1
    done
done

run() { # name port
    wrk -t$THREADS -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$2/api/products" > "$WORK/$1.txt"
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/$1.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$WORK/$1.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$WORK/$1.txt")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' "$WORK/$1.txt")
    printf '%-8s %12s %10s %10s   %s\n' "$1" "$rps" "$p50" "$p99" "${errors:-no errors}"
    echo "$rps" > "$WORK/$1.rps"
}

echo
echo "wrk: $THREADS threads, $CONNECTIONS connections, ${DURATION}s each, GET /api/products, $(nproc) cores"
printf '%-8s %12s %10s %10s\n' proxy "requests/s" p50 p99
run nginx $NGINX_PORT
run gateway $GATEWAY_PORT
run gw-nolim $((GATEWAY_PORT + 1))
for g in gateway gw-nolim; do
    awk -v name="$g" -v g="$(cat "$WORK/$g.rps")" -v n="$(cat "$WORK/nginx.rps")" \
        'BEGIN { printf "%s / nginx throughput: %.2f\n", name, g / n }'
done
redis-cli --scan --pattern "bench:gateway:$$:*" | xargs -r redis-cli del >/dev/null
