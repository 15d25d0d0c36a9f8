#!/usr/bin/env bash
# The whole test suite: static checks, then pytest on SQLite and on a real PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
bash scripts/system-deps.sh
echo "== ruff"; $BIN/ruff check src tests bench
echo "== import contracts"; $BIN/lint-imports
echo "== mypy"; $BIN/mypy
read -r pg_dir pg_url < <(bash scripts/postgres.sh start)
trap 'bash scripts/postgres.sh stop "$pg_dir"' EXIT
export CREDITOPS_TEST_POSTGRES_URL="$pg_url" CREDITOPS_REQUIRE_POSTGRES=1
echo "== pytest (PostgreSQL at ${pg_url%%/creditops_test})"
$BIN/python -m pytest -n 2 --dist loadgroup --cov --cov-report=term:skip-covered --cov-report=xml:coverage.xml "$@"
echo "== core branch coverage"
$BIN/python -m coverage report --include='src/creditops/core/*' --fail-under=100 --skip-covered
