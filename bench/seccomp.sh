#!/usr/bin/env bash
# Overhead of `haechi seccomp record` on two loops (open/close, fork+exec): each run plain, run
# as the recorded command (every syscall goes through the recorder's sys_enter program and
# hits its target), and run as an unrelated process while another command is recorded (the
# cost everyone else on the host pays: one or two hash lookups per syscall). Prints ratios
# measured in this one run; asserts nothing (timings on shared machines are noisy). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
# The loops the runs time (an absolute path: a relative one costs Python a getcwd).
loops_py=$PWD/bench/loops.py
cargo build --quiet --release -p haechi
haechi=target/release/haechi
work=$(mktemp -d)
bg_pid=
trap 'if [ -n "$bg_pid" ]; then kill "$bg_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

# One timed run of a loop; "$@" prefixes its command line.
once() {
  local kind=$1 n=$2; shift 2
  "$@" taskset -c 1 python3 "$loops_py" "$kind" "$n" 2>>"$work/record.log" | tail -1
}

start_bystander_recording() {
  "$haechi" seccomp record --output "$work/sleep.json" -- sleep 600 2>/dev/null &
  bg_pid=$!
  sleep 1
}

stop_bystander_recording() {
  kill "$bg_pid" 2>/dev/null || true
  wait "$bg_pid" 2>/dev/null || true
  bg_pid=
}

median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }

# Three rounds; each round runs the three variants back to back, so load that changes during
# the run (a shared machine) weighs on all three alike. The median per variant is reported.
loops=("open 200000" "exec 2000")
declare -A base recorded bystander
for loop in "${loops[@]}"; do
  b=() r=() o=()
  for _ in 1 2 3; do
    b+=("$(once $loop)")
    r+=("$(once $loop "$haechi" seccomp record --output "$work/profile.json" --)")
    start_bystander_recording
    o+=("$(once $loop)")
    stop_bystander_recording
  done
  base[$loop]=$(median "${b[@]}")
  recorded[$loop]=$(median "${r[@]}")
  bystander[$loop]=$(median "${o[@]}")
done

printf '%-6s %12s %26s %30s\n' loop "plain (s)" "recorded command" "other process during a recording"
for loop in "${loops[@]}"; do
  python3 -c "
b, r, o = ${base[$loop]}, ${recorded[$loop]}, ${bystander[$loop]}
print('%-6s %12.3f %12.3f (ratio %.2f) %16.3f (ratio %.2f)' % ('${loop%% *}', b, r, r/b, o, o/b))"
done
echo "last recording: $(tail -1 "$work/record.log")"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
