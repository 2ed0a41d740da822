// Connections opened by @duckdb/node-bindings, used here. Its connect() returns an external
// tagged with napi_type_tag whose data is a struct beginning with the duckdb_connection
// (duckdb-node-neo, bindings/src/type_tags.h and its connection holder); the tag is checked
// before the pointer is trusted, so any other value is refused with a TypeError.
#pragma once

#include <node_api.h>

#include "duckdb_c_api.h"

namespace duckflight {

/**
 * The duckdb_connection inside a node-bindings Connection external, or nullptr with a
 * JavaScript error thrown (not a tagged connection, or already disconnected).
 */
duckdb_connection connectionFromExternal(napi_env env, napi_value value);

}  // namespace duckflight
