#!/usr/bin/env bash
# The cockpit's CPU while a probed step runs (issue 15): `flightdeck run` on the 2-server
# lab with benches/support/probed-wait.toml, one wait step that never holds, started with
# Enter and y; then SECS s are measured, with the probe on and, for the baseline, with the
# same step marked `probe = false` (the cockpit polls every server fast while any step runs).
#
#   benches/cockpit_probe.sh         # 2 × 3 runs of 30 s at 120x40, about 4 minutes
#
# Environment: RUNS [3], SECS [30], WARMUP [5], SIZE [120x40], FD (the binary; default:
# cargo build --release and a private copy).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SECS=${SECS:-30}
WARMUP=${WARMUP:-5}
SIZE=${SIZE:-120x40}
HZ=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/flightdeck-bench.XXXXXX)
LAB=$WORK/lab
TMUX_SOCKET=flightdeck-bench-$$
if [[ -z ${FD:-} ]]; then
    cargo build --release --quiet --bin flightdeck
    cp target/release/flightdeck "$WORK/flightdeck"
    FD=$WORK/flightdeck
fi
cleanup() {
    tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null || true
    "$FD" lab --dir "$LAB" down --purge >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$FD" lab --dir "$LAB" up --maxscale-port "$port" >/dev/null
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
statements() {
    mariadb --defaults-file="$LAB/server1/client.cnf" -N -B -e \
        "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'QUESTIONS'"
}
sed 's/^probe = true$/probe = false/' benches/support/probed-wait.toml >"$WORK/unprobed-wait.toml"

echo "cockpit with a probed wait running, 2-server lab, $SIZE, $(nproc) cores, $RUNS runs of ${SECS} s after ${WARMUP} s, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| probe | run | load | CPU % of a core | ticks | statements/s on the primary |"
echo "|---|---|---|---|---|---|"
for probe in on off; do
    runbook=benches/support/probed-wait.toml
    [[ $probe == off ]] && runbook=$WORK/unprobed-wait.toml
    for ((run = 1; run <= RUNS; run++)); do
        session=probe-$probe-$run
        tmux -L "$TMUX_SOCKET" -f /dev/null new-session -d -s "$session" -x "${SIZE%x*}" -y "${SIZE#*x}" -c "$PWD" \
            "exec $FD run $runbook --inventory $LAB/inventory.toml --journal $WORK/$session.jsonl"
        pid=$(tmux -L "$TMUX_SOCKET" list-panes -t "$session" -F '#{pane_pid}')
        sleep 3
        tmux -L "$TMUX_SOCKET" send-keys -t "$session" Enter
        sleep 1.2
        tmux -L "$TMUX_SOCKET" send-keys -t "$session" y
        sleep "$WARMUP"
        load=$(cut -d' ' -f1 /proc/loadavg)
        t0=$(ticks "$pid")
        q0=$(statements)
        sleep "$SECS"
        t1=$(ticks "$pid")
        q1=$(statements)
        tmux -L "$TMUX_SOCKET" capture-pane -p -t "$session" >"$WORK/screen-$probe"
        tmux -L "$TMUX_SOCKET" kill-session -t "$session"
        awk -v t=$((t1 - t0)) -v hz="$HZ" -v s="$SECS" -v q=$((q1 - q0)) -v p="$probe" -v run="$run" -v ld="$load" \
            'BEGIN { printf "| %s | %d | %s | %.2f | %d | %.1f |\n", p, run, ld, 100 * t / hz / s, t, q / s }'
    done
done
echo
echo "the cockpit's header in the last run with the probe on:"
head -1 "$WORK/screen-on"
