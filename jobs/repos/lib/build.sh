#!/bin/sh
# "Builds" the library: out/greet.sh, stamped with the build that made it.
set -e
mkdir -p out
{
  echo "# greet library, built by $DISTCI_JOB build $DISTCI_BUILD"
  echo "LIB_BUILD=$DISTCI_BUILD"
  cat greet.sh
} > out/greet.sh
echo "built out/greet.sh ($(wc -l < out/greet.sh) lines) from commit $DISTCI_COMMIT"
