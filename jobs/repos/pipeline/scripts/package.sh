#!/bin/sh
# Packages the sources as dist/$APP_NAME.tar.gz with a checksum.
set -e
mkdir -p dist
tar -czf "dist/$APP_NAME.tar.gz" src README.md
cd dist
if command -v sha256sum >/dev/null; then sha256sum "$APP_NAME.tar.gz" > "$APP_NAME.sha256"; else shasum -a 256 "$APP_NAME.tar.gz" > "$APP_NAME.sha256"; fi
cat "$APP_NAME.sha256"
