#!/usr/bin/env bash
# The ingest cost of the handover quality counters (issue 16): the same broker with the counters on and
# off (ledger.quality_counters, demo mode only), in alternating rounds of one run so that both meet the
# same machine.
#
#   scripts/quality-cost.sh          # ROUNDS=3 DURATION=15; PROFILE=bench builds faster than release
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15}
BIN=./target/release/handover-broker
cargo build --profile "${PROFILE:-release}" --bin handover-broker --quiet
. scripts/rounds.sh
compare on HANDOVER_LEDGER__QUALITY_COUNTERS=true off HANDOVER_LEDGER__QUALITY_COUNTERS=false | awk '
    $1 != "mean" { print; next }
    { printf "%-45s mean: on %d/s, off %d/s, the quality counters cost %.1f%%\n", $2, $3, $4, 100 * (1 - $3 / $4) }'
