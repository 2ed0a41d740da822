#!/usr/bin/env bash
# Regenerates the protocol messages' TypeScript from our .proto files (npm run gen:proto): each
# flight/proto/NAME.proto and servers/flightsql/proto/NAME.proto gets NAME_pb.ts beside it.
# buf and protoc-gen-es come from node_modules (dev dependencies); no network is used.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
for dir in flight/proto servers/flightsql/proto; do
  rm -f "$dir"/*_pb.ts
  buf generate "$dir" --template buf.gen.yaml --output "$dir"
done
echo "generated: $(ls flight/proto/*_pb.ts servers/flightsql/proto/*_pb.ts | tr '\n' ' ')"
