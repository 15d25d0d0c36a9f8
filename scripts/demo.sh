#!/usr/bin/env bash
# The main job on the bundled example workspace (a fictional company, Northwind Robotics), in an
# embedded SQLite file under demo-workspace/, as of a fixed date so the output is reproducible.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
AS_OF=2026-10-31
dir=demo-workspace
rm -rf "$dir" && mkdir -p "$dir"
export CREDITOPS_DATABASE_URL="sqlite:///$dir/creditops.db"
run() { echo "\$ creditops $*"; "$BIN/creditops" "$@"; echo; }
run init
run load examples/demo/register.yaml
run import usage examples/demo/usage.csv
run ratecard convert data360-flex unification 3200000 --month-to-date 250000
run import digital-wallet examples/demo/digital-wallet-export.csv
run import marketing-cloud examples/demo/marketing-cloud-sent.csv --high-priority password-reset
run register --as-of "$AS_OF"
run balance flex-prod --as-of "$AS_OF"
run plan import examples/demo/plan.csv
run plan show --as-of "$AS_OF"
run forecast flex-prod --as-of "$AS_OF"
run forecast backtest --as-of "$AS_OF"
run check --as-of "$AS_OF" --dry-run
run accelerate dev-2025 --as-of "$AS_OF"
run outcome add --pool success-fund --metric "user adoption" --unit % --before 52 --after 62.4 \
  --before-date 2025-06-01 --after-date 2026-06-30 --value-used 90000 \
  --note "Change management and in-app guidance"
run report governance --period 2026Q3 --format html --output "$dir/governance-2026-Q3.html"
run calendar export "$dir/northwind.ics" --as-of "$AS_OF"
run partners run examples/partners/program.yaml --partners examples/partners/partners.csv \
  --events examples/partners/events.csv --top 5
echo "The workspace is in $dir/creditops.db; try: CREDITOPS_DATABASE_URL=$CREDITOPS_DATABASE_URL $BIN/creditops register --as-of $AS_OF --json"
