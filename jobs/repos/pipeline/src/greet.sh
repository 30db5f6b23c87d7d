#!/bin/sh
# Prints a greeting for each name given.
for name in "$@"; do
  printf 'hello, %s\n' "$name"
done
