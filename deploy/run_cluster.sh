#!/usr/bin/env bash
# Run N convlab processes behind a private nginx (Debian's package) with sticky sessions.
#
#   deploy/run_cluster.sh start [-n PROCESSES] [-p LISTEN_PORT] [-b FIRST_APP_PORT] [-d RUN_DIR]
#   deploy/run_cluster.sh stop   [-d RUN_DIR]
#   deploy/run_cluster.sh status [-d RUN_DIR]
#
# Defaults: 2 processes on 127.0.0.1:8601…, nginx on 127.0.0.1:8080, pids and logs in
# $TMPDIR/convlab-cluster-<uid>/ (-d to choose).
# Every process gets the same cookie secret (Streamlit's XSRF cookies must validate on any
# of them) and NUMBA_NUM_THREADS / OMP_NUM_THREADS = cores / N (at least 1), so that N
# processes do not oversubscribe the cores. The nginx config is deploy/nginx.conf with its
# `# convlab-backend` lines replaced by one line per process. `stop` ends only the
# processes whose pids this script wrote.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

cmd=${1:-}
[ -n "$cmd" ] && shift
N=2
LISTEN=8080
BASE=8601
RUN="${TMPDIR:-/tmp}/convlab-cluster-$(id -u)"
while getopts "n:p:b:d:" opt; do
    case $opt in
        n) N=$OPTARG ;;
        p) LISTEN=$OPTARG ;;
        b) BASE=$OPTARG ;;
        d) RUN=$OPTARG ;;
        *) echo "usage: $0 start|stop|status [-n N] [-p PORT] [-b BASE] [-d DIR]" >&2; exit 2 ;;
    esac
done

PY=${PYTHON:-$ROOT/.venv/bin/python}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

health() {  # 0 when http://127.0.0.1:$1/_stcore/health answers "ok"
    "$PY" - "$1" <<'EOF'
import http.client, sys, urllib.request
try:
    ok = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_stcore/health", timeout=2).read()
    sys.exit(0 if ok.strip() == b"ok" else 1)
except (OSError, http.client.HTTPException):
    sys.exit(1)
EOF
}

stop_pid() {  # stop one process we started (SIGTERM, then SIGKILL after 10 s)
    local file=$1 pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

case $cmd in
start)
    [ -x "$NGINX" ] || { echo "nginx not found: apt-get install -y nginx" >&2; exit 1; }
    [ -x "$PY" ] || { echo "no $PY: run 'make run' (or set PYTHON=)" >&2; exit 1; }
    mkdir -p "$RUN/logs"
    if ls "$RUN"/*.pid >/dev/null 2>&1; then
        echo "a cluster is already running from $RUN (run '$0 stop -d $RUN' first)" >&2; exit 1
    fi
    cores=$(nproc 2>/dev/null || echo 1)
    threads=$(( cores / N )); [ "$threads" -ge 1 ] || threads=1
    secret=$("$PY" -c "import secrets; print(secrets.token_hex(32))")
    backends=""
    for i in $(seq 0 $((N - 1))); do
        port=$((BASE + i))
        NUMBA_NUM_THREADS=${NUMBA_NUM_THREADS:-$threads} OMP_NUM_THREADS=${OMP_NUM_THREADS:-$threads} \
            STREAMLIT_SERVER_COOKIE_SECRET=$secret \
            nohup "$PY" -m streamlit run app/main.py --server.port "$port" \
            --server.address 127.0.0.1 >"$RUN/logs/app-$port.log" 2>&1 &
        echo $! >"$RUN/app-$port.pid"
        backends+="    server 127.0.0.1:$port max_fails=0;  # convlab-backend\n"
    done
    # nginx: deploy/nginx.conf inside a minimal top-level config, backends and port replaced
    {
        echo "worker_processes 1;"
        echo "pid $RUN/nginx.pid;"
        echo "error_log $RUN/logs/nginx-error.log warn;"
        echo "events { worker_connections 4096; }"
        echo "http {"
        echo "  access_log off;"
        echo "  client_body_temp_path $RUN/tmp/body; proxy_temp_path $RUN/tmp/proxy;"
        echo "  fastcgi_temp_path $RUN/tmp/fastcgi; uwsgi_temp_path $RUN/tmp/uwsgi; scgi_temp_path $RUN/tmp/scgi;"
        awk -v backends="$backends" -v listen="$LISTEN" '
            /^ *server .*# convlab-backend/ { if (!done) { printf "%s", backends; done = 1 } next }
            /^ *listen .*# convlab-listen/ { print "    listen 127.0.0.1:" listen ";"; next }
            { print }' deploy/nginx.conf
        echo "}"
    } >"$RUN/nginx.conf"
    mkdir -p "$RUN/tmp"
    for i in $(seq 0 $((N - 1))); do
        port=$((BASE + i))
        for _ in $(seq 300); do health "$port" && break; sleep 0.2; done
        health "$port" || { echo "app on port $port did not start; see $RUN/logs/app-$port.log" >&2; "$0" stop -d "$RUN"; exit 1; }
    done
    "$NGINX" -p "$RUN" -c "$RUN/nginx.conf" -e "$RUN/logs/nginx-error.log"
    echo "convlab: $N process(es) on 127.0.0.1:$BASE…$((BASE + N - 1)), nginx on http://127.0.0.1:$LISTEN ($threads thread(s) each)"
    ;;
stop)
    if [ -f "$RUN/nginx.pid" ]; then
        "$NGINX" -p "$RUN" -c "$RUN/nginx.conf" -e "$RUN/logs/nginx-error.log" -s quit 2>/dev/null || stop_pid "$RUN/nginx.pid"
        for _ in $(seq 50); do [ -f "$RUN/nginx.pid" ] || break; sleep 0.1; done
        rm -f "$RUN/nginx.pid"
    fi
    for f in "$RUN"/app-*.pid; do [ -e "$f" ] && stop_pid "$f"; done
    echo "convlab cluster in $RUN stopped"
    ;;
status)
    for f in "$RUN"/app-*.pid "$RUN"/nginx.pid; do
        [ -e "$f" ] || continue
        pid=$(cat "$f"); state=down; kill -0 "$pid" 2>/dev/null && state=up
        echo "$(basename "$f" .pid): pid $pid $state"
    done
    ;;
*)
    echo "usage: $0 start|stop|status [-n N] [-p LISTEN_PORT] [-b FIRST_APP_PORT] [-d RUN_DIR]" >&2
    exit 2
    ;;
esac
