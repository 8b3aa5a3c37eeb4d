#!/usr/bin/env bash
# The ingest cost of ledgering: the same release broker with the ledger on and off (ledger.enabled,
# demo mode only), in alternating rounds of one run so that both meet the same machine. The quality
# counters, which are kept from ledger entries and so stop with the ledger, are off in both settings:
# their own cost is what scripts/quality-cost.sh measures.
#
#   scripts/ledger-cost.sh            # ROUNDS=3 DURATION=15 by default
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15}
BIN=./target/release/handover-broker
cargo build --release --locked --quiet --bin handover-broker
. scripts/rounds.sh
compare on HANDOVER_LEDGER__ENABLED=true,HANDOVER_LEDGER__QUALITY_COUNTERS=false \
    off HANDOVER_LEDGER__ENABLED=false,HANDOVER_LEDGER__QUALITY_COUNTERS=false | awk '
    $1 != "mean" { print; next }
    { printf "%-45s mean: on %d/s, off %d/s, ledgering costs %.1f%%\n", $2, $3, $4, 100 * (1 - $3 / $4) }'
