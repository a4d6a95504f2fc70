#!/usr/bin/env bash
# What gVisor monitoring costs and carries: a syscall-heavy loop inside a runsc sandbox (a
# busybox shell opening, reading and closing a file N times, no fork) in sandboxes started
# without monitoring and with the pod-init config that streams every point haechi reads to
# `haechi agent --gvisor` (default rules), plus the events per second the agent took from one
# sandbox. Each loop's time is the sandbox's run with N iterations less its run with none
# (sandbox start-up); median of five, the two kinds alternated.
# Prints figures measured in this one run; asserts nothing. Needs root and runsc.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p haechi
haechi=$PWD/target/release/haechi
work=$(mktemp -d)
agent_pid=
trap 'if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
n=${GVISOR_BENCH_N:-2000}

bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/etc" "$bundle/rootfs/proc" "$bundle/rootfs/dev"
cp /bin/busybox "$bundle/rootfs/bin/"
ln -s busybox "$bundle/rootfs/bin/sh"
echo sandbox > "$bundle/rootfs/etc/hostname"
runc spec --bundle "$bundle"
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c",
    'i=0; while [ $i -lt "$N" ]; do read x < /etc/hostname; i=$((i+1)); done']
json.dump(c, open(path, "w"))
PY

# Seconds one sandbox takes to run the loop N times (argument 1) with runsc flags (the rest).
run_once() {
  local iterations=$1; shift
  python3 - "$bundle/config.json" "$iterations" <<'PY'
import json, sys
path, n = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c["process"]["env"] = [e for e in c["process"]["env"] if not e.startswith("N=")] + ["N=" + n]
json.dump(c, open(path, "w"))
PY
  local start end
  start=$(date +%s.%N)
  runsc --root "$work/state" --ignore-cgroups --network=none "$@" \
    run --bundle "$bundle" "bench-$RANDOM$RANDOM" </dev/null >/dev/null
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}

# One loop's time: its run less an empty run (sandbox start-up).
loop_time() {
  local full empty
  full=$(run_once "$n" "$@")
  empty=$(run_once 0 "$@")
  python3 -c "print(max($full - $empty, 1e-9))"
}

"$haechi" gvisor config --all --socket "$work/gvisor.sock" --output "$work/pod-init.json"
# The host sensor is narrowed to opens of /etc/shadow (exec, fork and exit always cross): on
# the ptrace platform every syscall in the sandbox is several ptrace calls on the host, and
# streaming those would measure the host sensor, not gVisor monitoring.
"$haechi" agent --gvisor --gvisor-socket "$work/gvisor.sock" --output "$work/alerts.json" \
  --syscalls openat --path-prefix /etc/shadow 2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 100); do grep -q watching "$work/agent.log" 2>/dev/null && break; sleep 0.1; done
grep -q watching "$work/agent.log" || { echo "agent did not start:"; cat "$work/agent.log"; exit 1; }

# Sandboxes without and with the pod-init config, alternated so that the machine's load
# drifts over both alike; medians of five.
without=() with=()
for _ in 1 2 3 4 5; do
  without+=("$(loop_time)")
  with+=("$(loop_time "--pod-init-config=$work/pod-init.json")")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 3p; }
without=$(median "${without[@]}")
with=$(median "${with[@]}")
kill -INT "$agent_pid"; wait "$agent_pid" || true; agent_pid=
summary=$(grep '^gVisor: connections' "$work/agent.log")
echo "$summary"

python3 - "$without" "$with" "$n" "$summary" <<'PY'
import re, sys
without, with_, n, summary = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
events = int(re.search(r"events (\d+)", summary).group(1))
dropped = int(re.search(r"dropped in sandboxes (\d+)", summary).group(1))
# Five monitored sandboxes ran the loop and five ran it zero times.
per_loop = events / 5
print(f"\nloop: {n} open+read+close in a busybox shell inside runsc (ptrace platform)")
print(f"  without monitoring   {without:8.3f} s  ({n / without:9.0f} iterations/s)")
print(f"  with haechi --gvisor {with_:8.3f} s  ({n / with_:9.0f} iterations/s)")
print(f"  slowdown             {with_ / without:8.2f}x")
print(f"events from one sandbox: {per_loop:.0f} per loop, {per_loop / with_:.0f} events/s; "
      f"points the sandboxes dropped: {dropped}")
PY
