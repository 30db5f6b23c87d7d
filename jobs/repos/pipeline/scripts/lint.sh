#!/bin/sh
# "Lint": every shell script must parse.
set -e
for f in src/*.sh scripts/*.sh; do
  sh -n "$f"
  echo "ok   $f"
done
