# Sourced by loadtest/proxies.sh and loadtest/gateway-profile.sh: the trivial upstream they
# proxy. One nginx worker answers every path with a small fixed JSON body (the gateway's
# health checks get 200 on /readyz), and the user service's credential check for one customer.

start_trivial_upstream() { # port work-dir
    local port=$1 work=$2
    cat > "$work/upstream.conf" <<CONF
worker_processes 1;
pid $work/upstream.pid;
error_log $work/upstream-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$port;
        keepalive_requests 1000000;
        location / { default_type application/json; return 200 '{"items":[],"next_cursor":null}'; }
        location = /internal/credentials/verify {
            default_type application/json;
            return 200 '{"user_id":"0190b6d2-6f3c-7000-8000-000000000001","roles":["customer"]}';
        }
    }
}
CONF
    nginx -c "$work/upstream.conf" -p "$work"
}
