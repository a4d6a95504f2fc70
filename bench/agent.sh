#!/usr/bin/env bash
# Overhead of `haechi agent` on three loops (open/close, fork+exec, loopback connect), each run
# without the agent, with the agent streaming every event it knows, with the agent streaming
# only file events under a few sensitive path prefixes, and with the agent running its default
# rules (alerts only: the kernel lets through just the syscalls and file paths those rules can
# match). Prints ratios measured in this one run; asserts nothing (timings on shared machines
# are noisy). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
# The loops the runs time (an absolute path: a relative one costs Python a getcwd).
loops_py=$PWD/bench/loops.py
cargo build --quiet --release -p haechi
haechi=target/release/haechi
work=$(mktemp -d)
agent_pid=
trap 'if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

# Median of three runs of one loop, pinned to CPU 1 (the agent runs on CPU 0).
measure() {
  local times=()
  for _ in 1 2 3; do times+=("$(taskset -c 1 python3 "$loops_py" "$1" "$2")"); done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

start_agent() {
  taskset -c 0 "$haechi" agent --output "$work/events.json" "$@" 2>"$work/agent.log" &
  agent_pid=$!
  for _ in $(seq 100); do grep -q watching "$work/agent.log" 2>/dev/null && return; sleep 0.1; done
  echo "agent did not start:"; cat "$work/agent.log"; exit 1
}

stop_agent() {
  kill -INT "$agent_pid"; wait "$agent_pid" || true; agent_pid=
  grep -E '^events' "$work/agent.log"
}

loops=("open 200000" "exec 2000" "connect 20000")
declare -A base all filtered rules
for loop in "${loops[@]}"; do base[$loop]=$(measure $loop); done
start_agent --events
for loop in "${loops[@]}"; do all[$loop]=$(measure $loop); done
echo "agent streaming every event:"; stop_agent
events=$(wc -l < "$work/events.json")
rm "$work/events.json"
start_agent --events --path-prefix /etc/shadow --path-prefix /root/.ssh \
  --path-prefix /proc/sys/kernel/core_pattern
for loop in "${loops[@]}"; do filtered[$loop]=$(measure $loop); done
echo "agent streaming file events under sensitive paths:"; stop_agent
start_agent
for loop in "${loops[@]}"; do rules[$loop]=$(measure $loop); done
echo "agent with its default rules:"; stop_agent

printf '\n%-8s %9s %18s %18s %18s\n' loop "no agent" "every event" "path filter" "default rules"
for loop in "${loops[@]}"; do
  python3 -c "
b, a, f, r = ${base[$loop]}, ${all[$loop]}, ${filtered[$loop]}, ${rules[$loop]}
cell = lambda t: '%7.3f (%+6.1f%%)' % (t, (t/b-1)*100)
print('%-8s %8.3fs %18s %18s %18s' % ('${loop%% *}', b, cell(a), cell(f), cell(r)))"
done
echo "events written while streaming everything: $events"

# Throughput: setuid(0) in a loop (an event with no path to resolve) as fast as one CPU makes
# them, while the agent on the other takes each event: written as a JSON line, or only judged
# by its rules. What the agent cannot take in time is counted as lost in the kernel; the loop
# itself is never held up waiting for the agent.
echo
for mode in "JSON lines" "rules only"; do
  if [ "$mode" = "JSON lines" ]; then
    start_agent --no-default-rules --syscalls setuid --events
  else
    start_agent --no-default-rules --syscalls setuid
  fi
  seconds=$(taskset -c 1 python3 "$loops_py" setuid 2000000)
  stop_agent > "$work/summary"
  summary=$(cat "$work/summary")
  python3 -c "
import re
s, line = $seconds, '''$summary'''
events, lost = (int(x) for x in re.search(r'events (\d+) .*lost (\d+)', line).groups())
print('setuid loop, agent writing %-10s: %9.0f events/s made, %9.0f/s delivered, %d lost' %
      ('$mode', 2000000 / s, events / s, lost))"
  rm -f "$work/events.json"
done
