#!/usr/bin/env bash
# Load on `haechi admit serve` over TLS on loopback with oha (crates.io): 64 keep-alive
# connections, real AdmissionReviews, at a fixed 5,000 reviews/s (latency corrected for
# coordinated omission) and then as fast as the server answers. Prints throughput and p50/p99
# latency; asserts nothing (timings on shared machines are noisy). Server and load generator
# share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p haechi
haechi=target/release/haechi
oha=target/tools/bin/oha
if [ ! -x "$oha" ]; then
  cargo install --quiet --locked oha --version 1.16.0 --root target/tools
fi
work=$(mktemp -d)
server_pid=
trap 'if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

"$haechi" admit certs --service haechi-webhook --namespace haechi-system --out "$work/certs" >/dev/null 2>&1
"$haechi" admit serve --cert "$work/certs/tls.crt" --key "$work/certs/tls.key" \
  --listen 127.0.0.1:0 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do grep -q "serving on" "$work/server.log" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/.*serving on https:\/\/\(.*\)/\1/p' "$work/server.log")
[ -n "$addr" ] || { cat "$work/server.log"; exit 1; }
port=${addr##*:}
host=haechi-webhook.haechi-system.svc

reviews=crates/admission/tests/reviews
# name, endpoint, body, rate (0 = unlimited)
runs=(
  "Pod, allowed         |validate|$reviews/pod-create-restricted.json|5000"
  "Pod, denied          |validate|$reviews/pod-create-privileged.json|5000"
  "Deployment, warned   |validate|$reviews/deployment-create.json|5000"
  "Deployment, patched  |mutate|$reviews/deployment-create.json|5000"
  "Pod, allowed         |validate|$reviews/pod-create-restricted.json|0"
)
# CPU time (user + system, clock ticks) the server has used so far.
server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
printf '%-22s %-9s %10s %12s %10s %10s %8s %14s\n' review endpoint "rate asked" "reviews/s" "p50 ms" "p99 ms" "non-200" "server CPU/rev"
for run in "${runs[@]}"; do
  IFS='|' read -r name endpoint body rate <<<"$run"
  rate_args=()
  if [ "$rate" != 0 ]; then rate_args=(-q "$rate" --latency-correction); fi
  before=$(server_ticks)
  "$oha" --no-tui --output-format json -z 10s -c 64 "${rate_args[@]}" \
    -m POST -T application/json -D "$body" \
    --cacert "$work/certs/ca.crt" --connect-to "$host:$port:127.0.0.1:$port" \
    "https://$host:$port/$endpoint" >"$work/result.json"
  ticks=$(( $(server_ticks) - before ))
  python3 - "$work/result.json" "$name" "$endpoint" "$rate" "$ticks" "$(getconf CLK_TCK)" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
name, endpoint, rate = sys.argv[2:5]
cpu_seconds = int(sys.argv[5]) / int(sys.argv[6])
codes = result.get("statusCodeDistribution", {})
# Requests cut off by the end of the 10 s window are oha's doing, not the server's.
errors = {e: n for e, n in result.get("errorDistribution", {}).items() if "deadline" not in e}
other = sum(n for code, n in codes.items() if code != "200") + sum(errors.values())
for error, n in errors.items():
    print(f"  error x{n}: {error}", file=sys.stderr)
p = result["latencyPercentiles"]
print(f"{name:<22} {endpoint:<9} {('max' if rate == '0' else rate):>10} "
      f"{result['summary']['requestsPerSec']:>12,.0f} {p['p50'] * 1e3:>10.3f} {p['p99'] * 1e3:>10.3f} {other:>8} "
      f"{cpu_seconds / max(sum(codes.values()), 1) * 1e6:>11.0f} us")
PY
done
