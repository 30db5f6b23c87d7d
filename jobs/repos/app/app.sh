#!/bin/sh
# Uses the library that the triggering lib build published (copied into vendor/).
set -e
. ./vendor/out/greet.sh
greet app
