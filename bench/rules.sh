#!/usr/bin/env bash
# Rule engine throughput on one core: haechi's default rules, then Falco's stable ruleset. First
# the agent's path (sensor events read through the typed view, next to the JSON map of Falco
# fields it would otherwise build), then the replay path of `haechi rules test` (flat JSON events
# as `haechi agent --events` writes them). Prints events/s; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p haechi-agent --example rules_bench
cargo build --quiet --release -p haechi-rules --example bench
for rules in rules/haechi_rules.yaml crates/rules/tests/falco/falco_rules.yaml; do
  echo "== $rules"
  echo "-- agent: sensor events"
  taskset -c 0 target/release/examples/rules_bench "$rules"
  echo "-- replay: JSON events"
  taskset -c 0 target/release/examples/bench "$rules" "$@"
done
