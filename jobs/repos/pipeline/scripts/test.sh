#!/bin/sh
# One cell of the test matrix: shard $1 of 2, in mode $2.
set -e
shard=$1
mode=$2
echo "test shard $shard ($mode) on $(uname -s) $(uname -m)"
out=$(sh src/greet.sh "shard$shard" "$mode")
expected=$(printf 'hello, shard%s\nhello, %s' "$shard" "$mode")
if [ "$out" != "$expected" ]; then
  echo "FAIL: got '$out'"
  exit 1
fi
echo "PASS shard $shard ($mode)"
