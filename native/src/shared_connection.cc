#include "shared_connection.h"

#include "napi_util.h"

namespace duckflight {

// @duckdb/node-bindings' ConnectionTypeTag (bindings/src/type_tags.h, 1.5.5-r.5).
static const napi_type_tag kConnectionTypeTag = {0x922B9BF54AB04DFCULL, 0x8A258578D371DB71ULL};

struct NodeBindingsConnectionHolder {
  duckdb_connection connection;
};

duckdb_connection connectionFromExternal(napi_env env, napi_value value) {
  napi_valuetype type = napi_undefined;
  napi_typeof(env, value, &type);
  bool tagged = false;
  if (type != napi_external || napi_check_object_type_tag(env, value, &kConnectionTypeTag, &tagged) != napi_ok || !tagged) {
    napi_throw_type_error(env, nullptr, "expected a connection from @duckdb/node-bindings' connect()");
    return nullptr;
  }
  void *data = nullptr;
  napi_get_value_external(env, value, &data);
  auto *holder = static_cast<NodeBindingsConnectionHolder *>(data);
  if (holder == nullptr || holder->connection == nullptr) {
    throwError(env, "the DuckDB connection is closed");
    return nullptr;
  }
  return holder->connection;
}

}  // namespace duckflight
