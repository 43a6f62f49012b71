#!/usr/bin/env bash
# Idle cost of `flightdeck watch` against a real 2-server lab, and the statements per
# second each server receives from it.
#
#   benches/watch_idle.sh            (about 2.5 minutes; needs mariadb-server and tmux)
#
# 1. Builds the release binary, starts a lab in $LAB (default /tmp/benchlab) with its
#    MaxScale-compatible endpoint on a free port, and turns on MariaDB's per-user
#    statistics (userstat) so each server can say who sent what.
# 2. Baseline, watch NOT running: $SECS s window; the endpoint's monitor is the only
#    client (2 statements per server per second).
# 3. Starts `flightdeck watch` detached in its own tmux server (120x40), lets it settle
#    $WARMUP s, then reads over a $SECS s window: its CPU time (utime+stime of
#    /proc/PID/stat), RSS (VmRSS, VmHWM), context switches of all its threads, write
#    syscalls, the bytes it sends to the terminal (tmux pipe-pane), and each server's
#    counters again.
# 4. Tears everything down (tmux server, `lab down --purge`) on every exit path.
#
# Statements per second are counted two ways on each server:
#   - `Questions` (global): (window delta - the reads' own statements) / SECS, with watch
#     minus without watch = flightdeck's share; the reads' own cost is measured with
#     back-to-back reads before the first window;
#   - information_schema.USER_STATISTICS per user, `flightdeck` vs `monitor` directly;
#     its SELECT/UPDATE/OTHER_COMMANDS do not count SHOW statements (SHOW ALL SLAVES
#     STATUS), so these columns are lower than Questions by one statement per poll.
set -euo pipefail
cd "$(dirname "$0")/.."

LAB=${LAB:-/tmp/benchlab}
SECS=${SECS:-60}
WARMUP=${WARMUP:-5}
FD=$PWD/target/release/flightdeck
TMUX_SOCKET=flightdeck-bench-$$
HZ=$(getconf CLK_TCK)
TTY_LOG=$(mktemp /tmp/flightdeck-bench-tty.XXXXXX)

if [[ -e $LAB ]]; then
    echo "$LAB exists; remove it or set LAB=another/dir (this script purges its lab)" >&2
    rm -f "$TTY_LOG"
    exit 1
fi

cleanup() {
    tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null || true
    rm -f "$TTY_LOG"
    if [[ -e $LAB ]]; then
        "$FD" lab --dir "$LAB" down --purge >/dev/null 2>&1 || echo "lab down failed: see $LAB" >&2
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cargo build --release --quiet --bin flightdeck
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$FD" lab --dir "$LAB" up --maxscale-port "$port" >/dev/null
servers=(server1 server2)

sql() { mariadb --defaults-file="$LAB/$1/client.cnf" -N -B -e "$2"; }
for s in "${servers[@]}"; do sql "$s" "SET GLOBAL userstat = 1"; done

# One read = one client connection, one statement: "questions flightdeck monitor".
user_cmds() {
    echo "IFNULL((SELECT SELECT_COMMANDS + UPDATE_COMMANDS + OTHER_COMMANDS
        FROM information_schema.USER_STATISTICS WHERE USER = '$1'), 0)"
}
read_counters() {
    sql "$1" "SELECT (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
        WHERE VARIABLE_NAME = 'QUESTIONS'), $(user_cmds flightdeck), $(user_cmds monitor)"
}

# The reads' own statements: the smallest Questions delta of back-to-back reads.
declare -A own
for s in "${servers[@]}"; do
    best=1000000
    for _ in 1 2 3 4 5; do
        read -r q1 _ _ < <(read_counters "$s")
        read -r q2 _ _ < <(read_counters "$s")
        ((q2 - q1 < best)) && best=$((q2 - q1))
    done
    own[$s]=$best
done

# window NAME: reads every server's counters, sleeps SECS, reads again; stores rates.
declare -A rate
window() {
    local name=$1 s q0 f0 m0 q1 f1 m1
    declare -A start
    for s in "${servers[@]}"; do start[$s]=$(read_counters "$s"); done
    sleep "$SECS"
    for s in "${servers[@]}"; do
        read -r q1 f1 m1 < <(read_counters "$s")
        read -r q0 f0 m0 <<<"${start[$s]}"
        rate[$name,$s,questions]=$(awk -v d=$((q1 - q0 - own[$s])) -v t="$SECS" 'BEGIN { printf "%.2f", d / t }')
        rate[$name,$s,flightdeck]=$(awk -v d=$((f1 - f0)) -v t="$SECS" 'BEGIN { printf "%.2f", d / t }')
        rate[$name,$s,monitor]=$(awk -v d=$((m1 - m0)) -v t="$SECS" 'BEGIN { printf "%.2f", d / t }')
    done
}

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

sleep 3 # the endpoint's monitor settles
echo "baseline: ${SECS} s without watch" >&2
window base

echo "watch: ${WARMUP} s warm-up, then ${SECS} s" >&2
tmux -L "$TMUX_SOCKET" -f /dev/null new-session -d -s watch -x 120 -y 40 -c "$PWD" \
    "exec $FD watch --inventory $LAB/inventory.toml"
pid=$(tmux -L "$TMUX_SOCKET" list-panes -t watch -F '#{pane_pid}')
started=$(date +%s.%N)
sleep "$WARMUP"
tmux -L "$TMUX_SOCKET" pipe-pane -t watch -o "cat >> $TTY_LOG" # bytes sent to the terminal
read -r t0 c0 w0 < <(proc_sample "$pid")
window watch
read -r t1 c1 w1 < <(proc_sample "$pid")
ended=$(date +%s.%N)
[[ $(cat "/proc/$pid/comm") == flightdeck ]] || { echo "watch is not running" >&2; exit 1; }
rss=$(kb VmRSS "$pid")
hwm=$(kb VmHWM "$pid")
screen=$(tmux -L "$TMUX_SOCKET" capture-pane -p -t watch)

pct() { awk -v n="$1" -v hz="$HZ" -v t="$2" 'BEGIN { printf "%.2f", 100 * n / hz / t }'; }
per_s() { awk -v n="$1" -v t="$SECS" 'BEGIN { printf "%.1f", n / t }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "flightdeck watch idle, 2-server lab, $(nproc) cores, CLK_TCK $HZ, window ${SECS} s after ${WARMUP} s"
echo
echo "| measure | value |"
echo "|---|---|"
echo "| CPU in the window | $(pct $((t1 - t0)) "$SECS") % of one core ($((t1 - t0)) ticks) |"
echo "| CPU since start (incl. startup) | $(pct "$t1" "$(awk -v a="$started" -v b="$ended" 'BEGIN { print b - a }')") % of one core ($t1 ticks) |"
echo "| RSS at the end (VmRSS / VmHWM) | $(mb "$rss") MB / $(mb "$hwm") MB |"
echo "| context switches, all threads | $(per_s $((c1 - c0))) /s |"
echo "| write syscalls (sockets and terminal) | $(per_s $((w1 - w0))) /s |"
echo "| bytes written to the terminal | $(per_s "$(stat -c %s "$TTY_LOG")") /s |"
echo
echo "| server | Questions/s without watch | with watch | flightdeck (difference) | USER_STATISTICS flightdeck/s (no SHOW) | monitor/s (no SHOW; without / with watch) | reads' own statements |"
echo "|---|---|---|---|---|---|---|"
for s in "${servers[@]}"; do
    diff=$(awk -v a="${rate[watch,$s,questions]}" -v b="${rate[base,$s,questions]}" 'BEGIN { printf "%.2f", a - b }')
    echo "| $s | ${rate[base,$s,questions]} | ${rate[watch,$s,questions]} | $diff | ${rate[watch,$s,flightdeck]} | ${rate[base,$s,monitor]} / ${rate[watch,$s,monitor]} | ${own[$s]} per read |"
done
echo
echo "the watch screen at the end:"
echo "$screen"
