#!/usr/bin/env bash
# Regenerates the protocol messages' TypeScript from our .proto files (npm run gen:proto):
# flight/proto/*.proto -> flight/gen/, servers/flightsql/proto/*.proto -> servers/flightsql/gen/.
# buf and protoc-gen-es come from node_modules (dev dependencies); no network is used.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
for dir in flight servers/flightsql; do
  rm -rf "$dir/gen"
  buf generate "$dir/proto" --template buf.gen.yaml --output "$dir"
done
echo "generated: $(ls flight/gen/*.ts servers/flightsql/gen/*.ts | tr '\n' ' ')"
