#!/usr/bin/env bash
# What gVisor monitoring costs and carries: a syscall-heavy loop inside a runsc sandbox (a
# busybox shell opening, reading and closing a file N times, no fork) timed without haechi and
# with `haechi agent --gvisor` receiving every point haechi reads (`haechi gvisor config --all`,
# default rules),
# plus the events per second the agent took from that one sandbox. Each loop's time is the
# sandbox's run with N iterations less its run with none (sandbox start-up), median of three.
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

# Median of three (loop run less empty run).
measure() {
  local times=()
  for _ in 1 2 3; do
    local full empty
    full=$(run_once "$n" "$@")
    empty=$(run_once 0 "$@")
    times+=("$(python3 -c "print(max($full - $empty, 1e-9))")")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

without=$(measure)

"$haechi" gvisor config --all --socket "$work/gvisor.sock" --output "$work/pod-init.json"
# The host sensor is narrowed to opens of /etc/shadow (exec, fork and exit always cross): on
# the ptrace platform every syscall in the sandbox is several ptrace calls on the host, and
# streaming those would measure the host sensor, not gVisor monitoring.
"$haechi" agent --gvisor --gvisor-socket "$work/gvisor.sock" --output "$work/alerts.json" \
  --syscalls openat --path-prefix /etc/shadow 2>"$work/agent.log" &
agent_pid=$!
for _ in $(seq 100); do grep -q watching "$work/agent.log" 2>/dev/null && break; sleep 0.1; done
grep -q watching "$work/agent.log" || { echo "agent did not start:"; cat "$work/agent.log"; exit 1; }

with=$(measure "--pod-init-config=$work/pod-init.json")
kill -INT "$agent_pid"; wait "$agent_pid" || true; agent_pid=
summary=$(grep '^gVisor: connections' "$work/agent.log")
echo "$summary"

python3 - "$without" "$with" "$n" "$summary" <<'PY'
import re, sys
without, with_, n, summary = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
events = int(re.search(r"events (\d+)", summary).group(1))
dropped = int(re.search(r"dropped in sandboxes (\d+)", summary).group(1))
# Three sandboxes ran the loop and three ran it zero times while the agent listened.
per_loop = events / 3
print(f"\nloop: {n} open+read+close in a busybox shell inside runsc (ptrace platform)")
print(f"  without monitoring   {without:8.3f} s  ({n / without:9.0f} iterations/s)")
print(f"  with haechi --gvisor {with_:8.3f} s  ({n / with_:9.0f} iterations/s)")
print(f"  slowdown             {with_ / without:8.2f}x")
print(f"events from one sandbox: {per_loop:.0f} per loop, {per_loop / with_:.0f} events/s; "
      f"points the sandboxes dropped: {dropped}")
PY
