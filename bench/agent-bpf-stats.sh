#!/usr/bin/env bash
# Nanoseconds per run of the sensor's sys_exit program (kernel.bpf_stats_enabled: run_time_ns /
# run_cnt over each loop) while `haechi agent` runs its default rules: an open/close loop (a
# watched open the path filter drops, and an unwatched close), a getppid loop (an unwatched
# syscall) and a loopback connect loop. Three runs each; prints them, asserts nothing. The
# figure counts every process's syscalls during the loop, so run it on a quiet machine. Needs
# root and bpftool.
set -euo pipefail
cd "$(dirname "$0")/.."
# The loops the runs time (an absolute path: a relative one costs Python a getcwd).
loops_py=$PWD/bench/loops.py
cargo build --quiet --release -p haechi
haechi=target/release/haechi
work=$(mktemp -d)
agent_pid=
trap 'if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; fi; sysctl -q kernel.bpf_stats_enabled=0; rm -rf "$work"' EXIT

sysctl -q kernel.bpf_stats_enabled=1
taskset -c 0 "$haechi" agent --output "$work/events.json" 2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 100); do grep -q watching "$work/agent.log" 2>/dev/null && break; sleep 0.1; done
# The agent's own handle_sys_exit, found through the program fds it holds.
prog=
for info in /proc/"$agent_pid"/fdinfo/*; do
  id=$(awk '/^prog_id:/{print $2}' "$info" 2>/dev/null || true)
  [ -n "$id" ] || continue
  if bpftool prog show id "$id" | grep -q ' name handle_sys_exit '; then prog=$id; fi
done
[ -n "$prog" ] || { echo "handle_sys_exit not found"; exit 1; }
snapshot() {
  bpftool prog show id "$prog" | grep -o 'run_time_ns [0-9]* run_cnt [0-9]*' | awk '{print $2, $4}'
}
for loop in "open 200000" "getppid 400000" "connect 20000"; do
  for _ in 1 2 3; do
    read -r t0 n0 < <(snapshot)
    taskset -c 1 python3 "$loops_py" $loop >/dev/null
    read -r t1 n1 < <(snapshot)
    awk -v t=$((t1 - t0)) -v n=$((n1 - n0)) -v l="${loop%% *}" \
      'BEGIN { printf "%-8s %6.1f ns per run (%d runs)\n", l, t / n, n }'
  done
done
