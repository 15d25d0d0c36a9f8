#!/usr/bin/env bash
# Installs the system packages the test suite needs (Debian): the PostgreSQL server, Pango for
# PDF rendering and a Java runtime for the Spark test. Does nothing when they are already there.
set -euo pipefail
need=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || need+=(postgresql)
ldconfig -p 2>/dev/null | grep -q libpango-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
# Java for the local PySpark session of the Spark test (pyspark itself comes from pip).
command -v java >/dev/null 2>&1 || [ -n "${JAVA_HOME:-}" ] || need+=(default-jre-headless)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing system packages: ${need[*]}"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
