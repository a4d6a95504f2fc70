#!/usr/bin/env bash
# Rule engine throughput on one core: Falco's stable ruleset against a generated event mix in the
# shape `haechi agent --events` writes. Prints events/s; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
rules=${RULES:-../shared/compat/falco/falco_rules.yaml}
[ -f "$rules" ] || rules=/work/shared/compat/falco/falco_rules.yaml
exec taskset -c 0 cargo run --quiet --release -p haechi-rules --example bench -- "$rules" "$@"
