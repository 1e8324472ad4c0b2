#!/usr/bin/env bash
# Instruction counts of the gateway per proxied request, from valgrind's callgrind: stable on a
# noisy machine where requests/s are not. The release gateway, in its default configuration
# (as in loadtest/proxies.sh), proxies a trivial nginx upstream under wrk; counting starts once
# it is warm and stops when wrk does, and the script prints the inclusive cost per request of
# the gateway's parts.
#
#   bash loadtest/gateway-profile.sh [seconds] [connections] [session]    # defaults: 20 8
#
# With `session` as the third argument the requests carry a signed-in session cookie.
# Needs valgrind, nginx and wrk (installed if missing) and Redis on 127.0.0.1:6379; listens on
# loopback ports PORT_BASE..PORT_BASE+1 (default 18080). GATEWAY_BIN measures another build.
set -euo pipefail
cd "$(dirname "$0")/.."
. loadtest/trivial-upstream.sh

DURATION=${1:-20}
CONNECTIONS=${2:-8}
SESSION=${3:-}
PORT_BASE=${PORT_BASE:-18080}
UPSTREAM_PORT=$PORT_BASE
GATEWAY_PORT=$((PORT_BASE + 1))
PREFIX=${REDIS_KEY_PREFIX:-bench:profile:$$:}
WORK=$(mktemp -d)
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    [ -f "$WORK/upstream.pid" ] && kill "$(cat "$WORK/upstream.pid")" 2>/dev/null || true
    redis-cli --scan --pattern "$PREFIX*" | xargs -r redis-cli del >/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v valgrind >/dev/null || ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
    apt-get install -y -qq valgrind nginx wrk >/dev/null
fi
GATEWAY_BIN=${GATEWAY_BIN:-}
if [ -z "$GATEWAY_BIN" ]; then
    cargo build --release -q -p gateway
    GATEWAY_BIN=${CARGO_TARGET_DIR:-target}/release/gateway
fi

start_trivial_upstream "$UPSTREAM_PORT" "$WORK"

GATEWAY_LISTEN_ADDR=127.0.0.1:$GATEWAY_PORT \
PRODUCT_UPSTREAMS=http://127.0.0.1:$UPSTREAM_PORT \
USER_UPSTREAMS=http://127.0.0.1:$UPSTREAM_PORT \
ORDER_UPSTREAMS=http://127.0.0.1:$UPSTREAM_PORT \
RATE_LIMIT_PER_MINUTE=100000000 \
SESSION_RATE_LIMIT_PER_MINUTE=100000000 \
REDIS_KEY_PREFIX="$PREFIX" \
SHOP_DEVELOPMENT=true \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out" \
    "$GATEWAY_BIN" > "$WORK/gateway.log" 2>&1 &
for _ in $(seq 1 600); do
    curl -fs -o /dev/null "http://127.0.0.1:$GATEWAY_PORT/api/products" && break
    sleep 0.1
done
headers=()
if [ "$SESSION" = session ]; then
    cookie=$(curl -fs -o /dev/null -c - -H 'content-type: application/json' \
        -d '{"email":"bench@shop.local","password":"benchmark"}' \
        "http://127.0.0.1:$GATEWAY_PORT/api/auth/login" | awk '$6 == "shop_session" {print $7}')
    headers=(-H "Cookie: shop_session=$cookie")
fi
wrk -t1 -c"$CONNECTIONS" -d5s "${headers[@]}" "http://127.0.0.1:$GATEWAY_PORT/api/products" >/dev/null # warm-up
callgrind_control -i on >/dev/null
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "${headers[@]}" "http://127.0.0.1:$GATEWAY_PORT/api/products" > "$WORK/wrk.txt"
callgrind_control -i off >/dev/null
callgrind_control -d >/dev/null
sleep 1
requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
out=$(ls "$WORK"/callgrind.out* | sort | tail -1)
callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null > "$WORK/inclusive.txt"
[ -n "${CALLGRIND_KEEP:-}" ] && cp "$WORK/inclusive.txt" "$CALLGRIND_KEEP.inclusive.txt"
[ -n "${CALLGRIND_KEEP:-}" ] && cp "$out" "$CALLGRIND_KEEP"
total=$(awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}' "$WORK/inclusive.txt")
echo "$requests requests, $(awk -v t="$total" -v n="$requests" 'BEGIN {printf "%d", t / n}') instructions per request (whole process)"
# Inclusive instructions per request of the functions that stand for each part (the parts
# overlap: allocation happens inside all the others). Middleware are nested futures, so their
# own inclusive costs would contain everything inside them; the parts are named by the calls
# that do the work instead.
part() { # label pattern…
    local label=$1
    shift
    awk -v label="$label" -v n="$requests" -v patterns="$(IFS='|'; echo "$*")" '
        BEGIN { count = split(patterns, p, "|") }
        / \?\?\?:|malloc\.c:/ {
            for (i = 1; i <= count; i++) if (index($0, p[i]) && !index($0, "'"'"'2")) {
                value = $1; gsub(",", "", value); sum[i] = (value + 0 > sum[i]) ? value + 0 : sum[i]
            }
        }
        END { total = 0; for (i = 1; i <= count; i++) total += sum[i]; printf "| %s | %d |\n", label, total / n }' \
        "$WORK/inclusive.txt"
}
echo
echo "| part (inclusive; parts overlap) | instructions / request |"
echo "|---|---:|"
part "memory allocation (malloc, free, realloc)" "__rustc::__rust_alloc " "__rustc::__rust_dealloc " "__rustc::__rust_realloc "
part "cloning the router's services and state per request" "boxed_clone_sync::CloneService<R>>::clone_box"
part "  of which the gateway's state (AppState clone + drop)" "<gateway::state::AppState as core::clone::Clone>::clone" "drop_in_place<gateway::state::AppState>"
part "tracing: request span" "tracing::span::Span::new"
part "tracing: events (access log line, formatted and written)" "tracing_core::event::Event::dispatch"
part "metrics: label sets looked up (counter + histogram)" "PrometheusRecorder as metrics::recorder::Recorder>::register_counter" "PrometheusRecorder as metrics::recorder::Recorder>::register_histogram"
part "Redis commands (rate limit, session, epoch)" "redis::cmd::Cmd::query_async::{{closure}}" "redis::script::ScriptInvocation::invoke_async::{{closure}}" "<futures_util::stream::stream::forward::Forward<St,Si,Item>"
part "session layer (cookies, session load)" "<tower_sessions::service::SessionManager<S,Store,C> as tower_service::Service" "tower_sessions_core::session::Session::get::{{closure}}" "<tower_cookies::service::CookieManager<S> as tower_service::Service"
part "request header rewrite (forwarding headers, traceparent)" "gateway::proxy::prepare_request_headers"
part "identity token minted" "shop_contracts::identity::IdentityKey::mint"
part "upstream client (hyper_util legacy Client)" "hyper_util::client::legacy::client::Client<C,B>::send_request::{{closure}}" "<hyper_util::client::legacy::client::ResponseFuture as core::future::future::Future>::poll"
