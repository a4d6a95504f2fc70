#!/usr/bin/env bash
# Overhead of in-kernel enforcement on an open loop and a loopback connect loop. Each loop runs
# with no agent, with the agent and no policy, with policies loaded but in a cgroup they do not
# cover, and inside a container cgroup they cover (every open is resolved and looked up in the
# protected-path trie, every connect checked against the allowed destinations). Prints ratios
# measured in this one run; asserts nothing. Needs root and a cgroup v2 hierarchy.
set -euo pipefail
cd "$(dirname "$0")/.."
# The loops the runs time (an absolute path: a relative one costs Python a getcwd).
loops_py=$PWD/bench/loops.py
cargo build --quiet --release -p haechi
haechi=target/release/haechi
work=$(mktemp -d)
pins=/sys/fs/bpf/haechi-bench-$$
id=$(printf 'be0c%060x' $$)
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then v2=/sys/fs/cgroup; else v2=/sys/fs/cgroup/unified; fi
cgroup=$v2/$id
agent_pid=
holder_pid=
cleanup() {
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; fi
  if [ -n "$holder_pid" ]; then kill "$holder_pid" 2>/dev/null || true; fi
  "$haechi" agent --cleanup --pin-dir "$pins" 2>/dev/null || true
  sleep 0.2; rmdir "$cgroup" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/policy.yaml" <<YAML
apiVersion: haechi.dev/v1alpha1
kind: HaechiPolicy
metadata:
  name: bench
spec:
  selector:
    containerIds: [$id]
  rules:
    - name: protect-binaries
      files:
        paths: [/bin/, /sbin/, /usr/bin/, /usr/sbin/, /etc/shadow]
        access: write
      action: kill
    - name: egress
      egress:
        allow:
          - cidrs: [127.0.0.0/8]
          - ports: [53]
            protocols: [UDP]
        deny:
          cidrs: [192.0.2.0/24]
      action: deny
YAML

mkdir -p "$cgroup"
# A process that holds the cgroup, so the agent finds it as a running container.
sh -c "echo \$\$ > $cgroup/cgroup.procs; exec sleep 600" &
holder_pid=$!

# Median of three runs, pinned to CPU 1 (the agent runs on CPU 0); "in" runs inside the cgroup.
measure() {
  local where=$1 times=()
  shift
  for _ in 1 2 3; do
    if [ "$where" = in ]; then
      times+=("$(sh -c "echo \$\$ > $cgroup/cgroup.procs; exec taskset -c 1 python3 $loops_py $*")")
    else
      times+=("$(taskset -c 1 python3 "$loops_py" "$@")")
    fi
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 2p
}

start_agent() {
  taskset -c 0 "$haechi" agent --no-default-rules --syscalls ptrace --pin-dir "$pins" "$@" \
    --output /dev/null 2>"$work/agent.log" &
  agent_pid=$!
  for _ in $(seq 100); do grep -q watching "$work/agent.log" 2>/dev/null && return; sleep 0.1; done
  echo "agent did not start:"; cat "$work/agent.log"; exit 1
}

stop_agent() { kill -INT "$agent_pid"; wait "$agent_pid" || true; agent_pid=; }

loops=("open 200000" "connect 20000")
declare -A none agent outside inside
for loop in "${loops[@]}"; do none[$loop]=$(measure out $loop); done
start_agent
for loop in "${loops[@]}"; do agent[$loop]=$(measure out $loop); done
stop_agent
start_agent --policy "$work/policy.yaml"
for _ in $(seq 100); do grep -q "enforcing bench" "$work/agent.log" && break; sleep 0.1; done
grep -q "enforcing bench" "$work/agent.log" || { echo "cgroup not scoped:"; cat "$work/agent.log"; exit 1; }
for loop in "${loops[@]}"; do outside[$loop]=$(measure out $loop); inside[$loop]=$(measure in $loop); done
stop_agent

printf '\n%-8s %10s %18s %26s %26s\n' loop "no agent" "agent, no policy" "policies, other cgroup" "policies, covered cgroup"
for loop in "${loops[@]}"; do
  python3 -c "
n, a, o, i = ${none[$loop]}, ${agent[$loop]}, ${outside[$loop]}, ${inside[$loop]}
print('%-8s %9.3fs %10.3fs (%+5.1f%%) %11.3fs (%+5.1f%% vs agent) %11.3fs (%+5.1f%% vs agent)' % ('${loop%% *}', n, a, (a/n-1)*100, o, (o/a-1)*100, i, (i/a-1)*100))"
done
