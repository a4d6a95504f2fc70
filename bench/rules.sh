#!/usr/bin/env bash
# Rule engine throughput on one core: haechi's default rules, then Falco's stable ruleset, against
# a generated event mix in the shape `haechi agent --events` writes. Prints events/s; asserts
# nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p haechi-rules --example bench
for rules in rules/haechi_rules.yaml crates/rules/tests/falco/falco_rules.yaml; do
  echo "== $rules"
  taskset -c 0 target/release/examples/bench "$rules" "$@"
done
