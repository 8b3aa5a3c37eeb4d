#!/usr/bin/env bash
# Ingest against its ceiling: the release broker (full validation, payload hash, durable commit, ledger,
# acknowledgement) and examples/parse_ceiling.rs (receive and parse into a serde_json::Value, nothing
# else) under the same load generator, in alternating rounds of one run so that both meet the same
# machine.
#
#   scripts/ingest-ceiling.sh            # ROUNDS=3 DURATION=15 by default
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15}
BIN=./target/release/handover-broker
cargo build --release --locked --quiet --bin handover-broker --example parse_ceiling
. scripts/rounds.sh
# The ledger setting is its default: the broker as it runs.
compare "bare" ceiling broker HANDOVER_LEDGER__ENABLED=true | awk '
    $1 != "mean" { print; next }
    { printf "%-45s mean: broker %d/s, bare parse %d/s: %.0f%% of the ceiling\n", $2, $4, $3, 100 * $4 / $3 }'
