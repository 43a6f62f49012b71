#!/usr/bin/env bash
# Idle cost of `flightdeck watch` against a real lab of REPLICAS+1 servers, and, with
# DOLPHIE set, of dolphie in the same lab and the same session; the statements per second
# each tool sends to each server.
#
#   benches/watch_idle.sh                                   # 2 servers, 3 runs of 60 s
#   REPLICAS=7 DOLPHIE=/tmp/dolphie-venv/bin/dolphie benches/watch_idle.sh
#   REPLICAS=63 WARMUP=10 DOLPHIE=... benches/watch_idle.sh  # 64 servers, about 6 GB
#
# Environment (defaults in brackets):
#   REPLICAS [1]   replicas in the lab (`lab up --replicas`)
#   LAB_UP_ARGS    more `lab up` options, e.g. `--semi-sync` (semi-sync on every server, so
#                  the replication pane shows its line and column) [none]
#   RUNS [3]       windows per tool; each run starts the tool afresh
#   SECS [60]      length of a window; WARMUP [5] s before it
#   LAB            the lab's directory [/tmp/benchlab-PID]; must not exist (it is purged)
#   FD             the flightdeck binary to measure [cargo build --release, then a private
#                  copy, so that a rebuild by someone else during the run changes nothing]
#   DOLPHIE        dolphie's executable (pip install dolphie into a venv): also measured,
#                  as `dolphie --panels dashboard,replication` on the primary, which
#                  connects to every replica itself (its "Replicas (N)" panel)
#   LOCK [/tmp/bench.lock]  held (flock) from starting a tool to stopping it, so no two
#                  CPU measurements on this machine overlap
#
# 1. Builds (or takes FD), starts the lab with its MaxScale-compatible endpoint on a free
#    port, turns on MariaDB's per-user statistics (userstat).
# 2. Baseline window without any tool: the endpoint's monitor is the only client.
# 3. RUNS times, for each tool: starts it detached in its own tmux server (120x40), waits
#    WARMUP s, then reads over SECS s: CPU time (utime+stime of /proc/PID/stat, all
#    threads), RSS (VmRSS, VmHWM) at the end, context switches of all threads, write
#    syscalls, bytes sent to the terminal (tmux pipe-pane), each server's Questions; then
#    stops it. The 1-minute load average at the start of each window is printed with it.
# 4. Tears everything down (tmux servers, `lab down --purge`) on every exit path.
#
# Statements per second per server: Questions (global) over the window, minus the
# baseline window's rate (the endpoint's monitor) and minus the counter reads' own
# statements (2 per read). MariaDB counts each statement of a multi-statement batch.
set -euo pipefail
cd "$(dirname "$0")/.."

REPLICAS=${REPLICAS:-1}
RUNS=${RUNS:-3}
SECS=${SECS:-60}
WARMUP=${WARMUP:-5}
LAB=${LAB:-/tmp/benchlab-$$}
LOCK=${LOCK:-/tmp/bench.lock}
DOLPHIE=${DOLPHIE:-}
HZ=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/flightdeck-bench.XXXXXX)
TMUX_SOCKET=flightdeck-bench-$$

if [[ -e $LAB ]]; then
    echo "$LAB exists; remove it or set LAB=another/dir (this script purges its lab)" >&2
    rm -rf "$WORK"
    exit 1
fi

if [[ -z ${FD:-} ]]; then
    cargo build --release --quiet --bin flightdeck
    cp target/release/flightdeck "$WORK/flightdeck"
    FD=$WORK/flightdeck
fi

cleanup() {
    tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null || true
    if [[ -e $LAB ]]; then
        "$FD" lab --dir "$LAB" down --purge >/dev/null 2>&1 || echo "lab down failed: see $LAB" >&2
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# shellcheck disable=SC2086 # LAB_UP_ARGS is a list of options
"$FD" lab --dir "$LAB" up --replicas "$REPLICAS" --maxscale-port "$port" ${LAB_UP_ARGS:-} >/dev/null
servers=()
for ((k = 1; k <= REPLICAS + 1; k++)); do servers+=("server$k"); done
primary_port=$(awk -F'port = ' '/name = "server1"/ { found = 1 } found && /port = / { sub(/ }.*/, "", $2); print $2; exit }' "$LAB/inventory.toml")

sql() { mariadb --defaults-file="$LAB/$1/client.cnf" -N -B -e "$2"; }
questions() { sql "$1" "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'QUESTIONS'"; }

# The counter reads' own statements: the smallest Questions delta of back-to-back reads.
own=1000000
for _ in 1 2 3 4 5; do
    q1=$(questions server1)
    q2=$(questions server1)
    ((q2 - q1 < own)) && own=$((q2 - q1))
done

# count FILE: every server's Questions, one per line.
count() { for s in "${servers[@]}"; do questions "$s"; done >"$1"; }
# rates BEFORE AFTER SECS: Questions per second of each server, minus the reads' own.
rates() { paste "$1" "$2" | awk -v own="$own" -v t="$3" '{ printf "%.3f\n", ($2 - $1 - own) / t }'; }

# Process facts of PID: "cpu_ticks ctxt_switches write_syscalls".
proc_sample() {
    local stat ticks ctxt syscw
    stat=$(sed 's/.*) //' "/proc/$1/stat")
    ticks=$(awk '{ print $12 + $13 }' <<<"$stat") # utime, stime (fields 14, 15)
    ctxt=$(awk '/ctxt_switches/ { n += $2 } END { print n }' /proc/"$1"/task/*/status 2>/dev/null || true)
    syscw=$(awk '/^syscw/ { print $2 }' "/proc/$1/io")
    echo "$ticks $ctxt $syscw"
}
kb() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$2/status"; }
pct() { awk -v n="$1" -v hz="$HZ" -v t="$SECS" 'BEGIN { printf "%.2f", 100 * n / hz / t }'; }
per_s() { awk -v n="$1" -v t="$SECS" 'BEGIN { printf "%.1f", n / t }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

sleep 3 # the endpoint's monitor settles
echo "baseline: ${SECS} s without a tool" >&2
count "$WORK/q0"
sleep "$SECS"
count "$WORK/q1"
rates "$WORK/q0" "$WORK/q1" "$SECS" >"$WORK/base"

# statements WITH: "primary replicas-mean replicas-min replicas-max" (per second, each
# server's rate minus its baseline rate).
statements() {
    paste "$1" "$WORK/base" | awk '
        NR == 1 { p = $1 - $2; next }
        { r = $1 - $2; s += r; n++; if (n == 1 || r < lo) lo = r; if (n == 1 || r > hi) hi = r }
        END { if (n == 0) { lo = hi = 0; n = 1 } printf "%.2f %.2f %.2f %.2f\n", p, s / n, lo, hi }'
}

# window TOOL RUN COMMAND: one measured window of a tool started afresh, under the lock.
window() {
    local tool=$1 run=$2 cmd=$3 session=$1-$2 pid load t0 c0 w0 t1 c1 w1 rss hwm
    exec 9>"$LOCK"
    flock 9
    load=$(cut -d' ' -f1 /proc/loadavg)
    tmux -L "$TMUX_SOCKET" -f /dev/null new-session -d -s "$session" -x 120 -y 40 -c "$PWD" "exec $cmd"
    pid=$(tmux -L "$TMUX_SOCKET" list-panes -t "$session" -F '#{pane_pid}')
    sleep "$WARMUP"
    : >"$WORK/tty"
    tmux -L "$TMUX_SOCKET" pipe-pane -t "$session" -o "cat >> $WORK/tty"
    count "$WORK/s0"
    read -r t0 c0 w0 < <(proc_sample "$pid")
    sleep "$SECS"
    read -r t1 c1 w1 < <(proc_sample "$pid")
    count "$WORK/s1"
    rss=$(kb VmRSS "$pid")
    hwm=$(kb VmHWM "$pid")
    tmux -L "$TMUX_SOCKET" capture-pane -p -t "$session" >"$WORK/screen-$session"
    tmux -L "$TMUX_SOCKET" kill-session -t "$session"
    flock -u 9
    rates "$WORK/s0" "$WORK/s1" "$SECS" >"$WORK/r-$session"
    read -r sp sr slo shi < <(statements "$WORK/r-$session")
    echo "| $tool | $run | $load | $(pct $((t1 - t0))) | $((t1 - t0)) | $(mb "$rss") / $(mb "$hwm") | $(per_s $((c1 - c0))) | $(per_s $((w1 - w0))) | $(per_s "$(stat -c %s "$WORK/tty")") | $sp | $sr ($slo–$shi) |"
}

n=${#servers[@]}
echo "$n servers (REPLICAS=$REPLICAS), $(nproc) cores, CLK_TCK $HZ, $RUNS runs of ${SECS} s after ${WARMUP} s, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "flightdeck: $FD ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ', with uncommitted changes'))"
[[ -n $DOLPHIE ]] && echo "dolphie: $("$DOLPHIE" --version 2>/dev/null | tail -1)"
echo
echo "| tool | run | load | CPU % of a core | ticks | RSS / HWM MB | ctx switches/s | write syscalls/s | terminal B/s | statements/s, primary | per replica, mean (min–max) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for ((run = 1; run <= RUNS; run++)); do
    window flightdeck "$run" "$FD watch --inventory $LAB/inventory.toml"
    if [[ -n $DOLPHIE ]]; then
        window dolphie "$run" "$DOLPHIE -u flightdeck -p $(cat "$LAB/secrets/flightdeck") -h 127.0.0.1 -P $primary_port --panels dashboard,replication"
    fi
done
echo
echo "baseline (endpoint monitor only), statements/s per server: $(paste -sd' ' "$WORK/base" | cut -c1-200)"
echo
echo "flightdeck's screen at the end of the last run:"
cat "$WORK/screen-flightdeck-$RUNS"
