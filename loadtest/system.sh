# Sourced by the scripts that start a system of their own (fuzz_api.sh, faults.sh, stages.sh):
# free ports, the environment `shop up` must not inherit, and starting `shop up` in the background.

# free_ports [LOW HIGH] COUNT: COUNT free local ports, between LOW and HIGH when given.
free_ports() {
    python3 - "$@" <<'PY'
import socket, sys
*bounds, count = map(int, sys.argv[1:])
candidates = range(bounds[0], bounds[1] + 1) if bounds else [0] * count
ports, socks = [], []
for port in candidates:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    socks.append(s)
    ports.append(s.getsockname()[1])
    if len(ports) == count:
        break
if len(ports) < count:
    sys.exit(f"not {count} free ports in {bounds}")
print(*ports)
PY
}

# What would point `shop up` at another system than the one the script sets up.
unset_stage_env() {
    unset PRODUCT_SERVICE_URL USER_UPSTREAMS PRODUCT_UPSTREAMS ORDER_UPSTREAMS SEARCH_UPSTREAMS SITE_UPSTREAMS
    unset LB_POLICY SESSION_STORE SHOP_SEARCH SHOP_STAGE_DATABASE_URL
}

# wait_for_log PID LOG PATTERN: returns once LOG holds PATTERN, or shows the log and exits if
# process PID stopped first.
wait_for_log() {
    local pid=$1 log=$2 pattern=$3
    until grep -qs "$pattern" "$log"; do
        kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
        sleep 0.2
    done
}

# start_shop BIN LOG ARGS...: `BIN up ARGS...` in the background, logging to LOG; returns once
# it serves (SHOP_PID is its pid), or shows the log and exits if it stopped.
start_shop() {
    local bin=$1 log=$2
    shift 2
    "$bin" up "$@" >"$log" 2>&1 &
    SHOP_PID=$!
    wait_for_log "$SHOP_PID" "$log" "Ctrl-C"
}

# The directory of PostgreSQL's initdb and pg_ctl: `pg_config --bindir`, else Debian's newest.
postgres_bin() {
    local dir
    dir=$(pg_config --bindir 2>/dev/null || true)
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
        dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    fi
    [ -x "$dir/initdb" ] || { echo "no PostgreSQL server binaries (initdb) found" >&2; return 1; }
    echo "$dir"
}
