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
run register --as-of "$AS_OF"
run balance flex-prod --as-of "$AS_OF"
run partners run examples/partners/program.yaml --partners examples/partners/partners.csv \
  --events examples/partners/events.csv --top 5
echo "The workspace is in $dir/creditops.db; try: CREDITOPS_DATABASE_URL=$CREDITOPS_DATABASE_URL $BIN/creditops register --as-of $AS_OF --json"
