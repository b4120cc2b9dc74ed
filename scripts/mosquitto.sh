#!/usr/bin/env bash
# A throw-away Mosquitto broker for tests: 127.0.0.1 only, a free port, anonymous clients (on
# loopback only), no persistence; config, log and pid file in DIR.
# Usage:
#   scripts/mosquitto.sh start DIR   starts it in the background; prints the port on stdout
#   scripts/mosquitto.sh stop DIR    stops the broker started in DIR (by its pid file)
#   scripts/mosquitto.sh restart DIR stops it and starts it again on the same port (a broker
#                                    restart, for reconnection tests); prints the port
# Exit status 3 from start: mosquitto is not installed (scripts/install-deps.sh test).
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|restart DIR" >&2
    exit 2
fi
pidfile="$dir/mosquitto.pid"

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

listening() { # port
    python3 -c 'import socket, sys
s = socket.socket()
s.settimeout(0.2)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

find_bin() {
    bin="$(command -v mosquitto || true)"
    [ -z "$bin" ] && [ -x /usr/sbin/mosquitto ] && bin=/usr/sbin/mosquitto
    if [ -z "$bin" ]; then
        echo "mosquitto.sh: mosquitto is not installed" >&2
        exit 3
    fi
}

# Starts mosquitto with $dir/mosquitto.conf listening on $1; 0 once it listens.
run_conf() { # port
    # Started from this shell so the log is opened before mosquitto drops privileges.
    setsid "$bin" -c "$dir/mosquitto.conf" >>"$dir/mosquitto.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$pidfile"
    for _ in $(seq 1 50); do
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        if listening "$1"; then
            return 0
        fi
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    rm -f "$pidfile"
    return 1
}

stop_broker() {
    [ -f "$pidfile" ] || return 0
    pid="$(cat "$pidfile")"
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

case "$cmd" in
start)
    find_bin
    mkdir -p "$dir"
    for _ in 1 2 3 4 5; do
        port="$(free_port)"
        cat >"$dir/mosquitto.conf" <<EOF
# written by scripts/mosquitto.sh for tests
listener $port 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning
# broker statistics topics every second (tests watch the connected-clients count)
sys_interval 1
EOF
        : >"$dir/mosquitto.log"
        if run_conf "$port"; then
            echo "$port"
            exit 0
        fi
    done
    echo "mosquitto.sh: could not start mosquitto (see $dir/mosquitto.log)" >&2
    exit 1
    ;;
stop)
    stop_broker
    ;;
restart)
    find_bin
    port="$(awk '$1 == "listener" { print $2; exit }' "$dir/mosquitto.conf")"
    stop_broker
    # the port may linger in TIME_WAIT for a moment: try for a few seconds
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        if run_conf "$port"; then
            echo "$port"
            exit 0
        fi
        sleep 0.5
    done
    echo "mosquitto.sh: could not restart mosquitto (see $dir/mosquitto.log)" >&2
    exit 1
    ;;
*)
    echo "usage: $0 start|stop|restart DIR" >&2
    exit 2
    ;;
esac
