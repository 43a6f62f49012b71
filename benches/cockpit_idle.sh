#!/usr/bin/env bash
# Idle cost of the cockpit (`flightdeck run`) on the 2-server lab with the 62-step
# rehearsal runbook, as ./scripts/cockpit opens it: nobody presses a key.
#
#   benches/cockpit_idle.sh             # 3 runs of 30 s at 120x40, about 2.5 minutes
#
# Environment (defaults in brackets): RUNS [3], SECS [30], WARMUP [5], SIZE [120x40],
# LAB [/tmp/benchlab-PID] (must not exist; it is purged), FD (the binary; default:
# cargo build --release and a private copy), LOCK [/tmp/bench.lock] (held from starting
# the cockpit to stopping it).
#
# The lab starts on MariaDB 10.11.18 when that build can be fetched (as ./scripts/cockpit
# does), else on the installed one. Each run opens the cockpit afresh (a new journal) in
# its own tmux server, waits WARMUP s, and reads over SECS s: CPU time (utime+stime of
# /proc/PID/stat, all threads), RSS (VmRSS, VmHWM) at the end, context switches of all
# threads, bytes sent to the terminal and frames drawn (ratatui hides the cursor once per
# frame: `ESC [ ? 2 5 l`).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SECS=${SECS:-30}
WARMUP=${WARMUP:-5}
SIZE=${SIZE:-120x40}
LAB=${LAB:-/tmp/benchlab-$$}
LOCK=${LOCK:-/tmp/bench.lock}
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
"$FD" lab --dir "$LAB" up --from 10.11.18 --maxscale-port "$port" >/dev/null 2>&1 ||
    "$FD" lab --dir "$LAB" up --maxscale-port "$port" >/dev/null
version=$(mariadb --defaults-file="$LAB/server1/client.cnf" -N -B -e 'SELECT VERSION()')

kb() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$2/status"; }
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
ctxt() { awk '/ctxt_switches/ { n += $2 } END { print n }' /proc/"$1"/task/*/status 2>/dev/null || true; }

echo "cockpit idle, 2-server lab on $version, runbooks/lab-rolling-upgrade.toml, $SIZE, $(nproc) cores, $RUNS runs of ${SECS} s after ${WARMUP} s, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "flightdeck: $FD ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ', with uncommitted changes'))"
echo
echo "| run | load | CPU % of a core | ticks | RSS / HWM MB | ctx switches/s | terminal B/s | frames/s |"
echo "|---|---|---|---|---|---|---|---|"
for ((run = 1; run <= RUNS; run++)); do
    exec 9>"$LOCK"
    flock 9
    load=$(cut -d' ' -f1 /proc/loadavg)
    session=cockpit-$run
    tmux -L "$TMUX_SOCKET" -f /dev/null new-session -d -s "$session" -x "${SIZE%x*}" -y "${SIZE#*x}" -c "$PWD" \
        "exec $FD run runbooks/lab-rolling-upgrade.toml --inventory $LAB/inventory.toml --journal $WORK/run-$run.jsonl"
    pid=$(tmux -L "$TMUX_SOCKET" list-panes -t "$session" -F '#{pane_pid}')
    sleep "$WARMUP"
    : >"$WORK/tty"
    tmux -L "$TMUX_SOCKET" pipe-pane -t "$session" -o "cat >> $WORK/tty"
    t0=$(ticks "$pid")
    c0=$(ctxt "$pid")
    sleep "$SECS"
    t1=$(ticks "$pid")
    c1=$(ctxt "$pid")
    rss=$(kb VmRSS "$pid")
    hwm=$(kb VmHWM "$pid")
    tmux -L "$TMUX_SOCKET" capture-pane -p -t "$session" >"$WORK/screen"
    tmux -L "$TMUX_SOCKET" kill-session -t "$session"
    flock -u 9
    frames=$(grep -o $'\e\\[?25l' "$WORK/tty" | wc -l)
    awk -v t=$((t1 - t0)) -v hz="$HZ" -v s="$SECS" -v r="$rss" -v h="$hwm" -v c=$((c1 - c0)) \
        -v b="$(stat -c %s "$WORK/tty")" -v f="$frames" -v run="$run" -v ld="$load" \
        'BEGIN { printf "| %d | %s | %.2f | %d | %.1f / %.1f | %.1f | %.1f | %.2f |\n",
                 run, ld, 100 * t / hz / s, t, r / 1024, h / 1024, c / s, b / s, f / s }'
done
echo
echo "the cockpit at the end of the last run:"
cat "$WORK/screen"
