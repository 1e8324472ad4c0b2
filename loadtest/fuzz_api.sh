#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis, every check on: each service's own /openapi.json
# (signed in through the identity header, as the gateway would send it) and, through the
# gateway, its own document and every service's as the docs show them (signed in with the
# shop_session cookie). The system runs on a setup of its own (free ports, databases
# fz_<id>_*, event namespace fz<id>, Redis prefix fz<id>:gateway:, its own index); afterwards
# it is stopped and everything it stored is deleted.
#
#   bash loadtest/fuzz_api.sh            # CI: a few examples per operation (a few minutes)
#   bash loadtest/fuzz_api.sh full       # every phase, FUZZ_MAX_TIME (60) seconds per document
#
# FUZZ_EXAMPLES overrides the examples per operation, FUZZ_WORKERS the concurrent requests (2); reports land in
# target/fuzz-api/<document>/ (JUnit XML and the cassette of every request).
# Exits non-zero if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
source loadtest/system.sh

MODE=${1:-ci}
case "$MODE" in
    ci) EXAMPLES=${FUZZ_EXAMPLES:-8}; PHASES=examples,coverage,fuzzing; BUDGET=() ;;
    # Fuzzing and stateful testing go on for the whole budget of each document.
    full) EXAMPLES=${FUZZ_EXAMPLES:-200}; PHASES=examples,coverage,fuzzing,stateful
          BUDGET=(--max-time "${FUZZ_MAX_TIME:-60}") ;;
    *) echo "usage: $0 [ci|full]" >&2; exit 2 ;;
esac

requirements=loadtest/fuzz-requirements.txt
# The venv's interpreter: FUZZ_PYTHON, else the first Python 3.12 or newer found, else
# python3. (Under CPython 3.11, hypothesis fails on some of the shop's schemas with "AST
# constructor recursion depth mismatch", a bug of that interpreter.)
python=${FUZZ_PYTHON:-}
if [ -z "$python" ]; then
    for candidate in python3.14 python3.13 python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 python3; do
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            python=$candidate
            break
        fi
    done
fi
python=${python:-python3}
venv="${XDG_CACHE_HOME:-$HOME/.cache}/shop-ci/fuzz-$("$python" --version | cut -d' ' -f2)-$(sha256sum "$requirements" | cut -c1-12)"
if [ ! -x "$venv/bin/schemathesis" ]; then
    echo "fuzz: installing schemathesis in $venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
fi

cargo build -q -p shop
BIN=${CARGO_TARGET_DIR:-target}/debug/shop

read -r GW US PS OS SS < <(free_ports 5)
ID=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:8])')
export GATEWAY_LISTEN_ADDR=127.0.0.1:$GW USER_LISTEN_ADDR=127.0.0.1:$US PRODUCT_LISTEN_ADDR=127.0.0.1:$PS
export ORDER_LISTEN_ADDR=127.0.0.1:$OS SEARCH_LISTEN_ADDR=127.0.0.1:$SS
for service in user product order search; do
    export "${service^^}_DATABASE_URL=postgres://postgres@127.0.0.1:5432/fz_${ID}_${service}"
done
INDEX=$(mktemp -d)
export EVENT_NAMESPACE=fz$ID REDIS_KEY_PREFIX=fz$ID:gateway: SEARCH_INDEX_DIR=$INDEX/index SHOP_DATA_DIR=$INDEX/data
export LOG_FORMAT=json RUST_LOG=warn
unset_stage_env

LOG=$(mktemp)
SHOP_PID=
cleanup() {
    [ -n "$SHOP_PID" ] && { kill -INT "$SHOP_PID" 2>/dev/null && wait "$SHOP_PID" || true; }
    "$BIN" reset --yes >/dev/null || true
    redis-cli --scan --pattern "${REDIS_KEY_PREFIX}*" | xargs -r redis-cli del >/dev/null || true
    rm -rf "$LOG" "$INDEX"
}
trap cleanup EXIT
start_shop "$BIN" "$LOG" --products 64 --no-rate-limits

token() { "$BIN" token "$1" "$2"; }
CUSTOMER=$(token customer@shop.local customer-password-123)
ADMIN=$(token admin@shop.local admin-password-123)
session() { # email password: the shop_session cookie from signing in through the gateway
    curl -sf -o /dev/null -c - "http://127.0.0.1:$GW/api/auth/login" -H 'content-type: application/json' \
        -d "{\"email\": \"$1\", \"password\": \"$2\"}" | awk '$6 == "shop_session" { print $7 }'
}
COOKIE=$(session customer@shop.local customer-password-123)
ADMIN_COOKIE=$(session admin@shop.local admin-password-123)

failed=0
fuzz() { # name, document URL, who: the value of the identity scheme (a token or a cookie), more flags
    local name=$1 url=$2 identity=$3
    shift 3
    local out=target/fuzz-api/$name
    mkdir -p "$out"
    echo "fuzz: $name ($url)"
    if ! FUZZ_IDENTITY=$identity "$venv/bin/schemathesis" --config-file loadtest/fuzz.toml run "$url" \
        --checks all --phases "$PHASES" --max-examples "$EXAMPLES" --workers "${FUZZ_WORKERS:-2}" --seed 1 --no-color \
        --generation-database none --suppress-health-check all --report junit,vcr --report-dir "$out" \
        ${BUDGET[@]+"${BUDGET[@]}"} "$@"; then
        failed=1
    fi
}

# The services themselves, as the gateway calls them (the identity header), internal routes
# included. The admin may do everything the user and product services offer; carts and
# orders are a customer's.
fuzz user "http://127.0.0.1:$US/openapi.json" "$ADMIN"
fuzz product "http://127.0.0.1:$PS/openapi.json" "$ADMIN"
fuzz order "http://127.0.0.1:$OS/openapi.json" "$CUSTOMER"
fuzz search "http://127.0.0.1:$SS/openapi.json" "$ADMIN"
# Through the gateway, as the docs page shows them: the session cookie. The gateway's own
# document comes last: it signs out.
fuzz gateway-user "http://127.0.0.1:$GW/openapi/user" "$ADMIN_COOKIE"
fuzz gateway-product "http://127.0.0.1:$GW/openapi/product" "$ADMIN_COOKIE"
fuzz gateway-order "http://127.0.0.1:$GW/openapi/order" "$COOKIE"
fuzz gateway-search "http://127.0.0.1:$GW/openapi/search" "$COOKIE"
fuzz gateway "http://127.0.0.1:$GW/openapi.json" "$COOKIE"
exit $failed
