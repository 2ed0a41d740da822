// The module's entry point: each source file contributes its functions through a register
// function declared in addon.h and called here.
#include "addon.h"

#include "napi_util.h"
#include "shared_connection.h"

namespace duckflight {

static napi_value libraryVersion(napi_env env, napi_callback_info) {
  return makeString(env, duckdb_library_version());
}

/** checkConnection(external): true when the addon can use that node-bindings connection. */
static napi_value checkConnection(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK_OR_RETURN(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 1 || connectionFromExternal(env, argv[0]) == nullptr) return nullptr;
  napi_value result = nullptr;
  napi_get_boolean(env, true, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  if (!exportFunction(env, exports, "libraryVersion", libraryVersion) || !exportFunction(env, exports, "checkConnection", checkConnection) ||
      !registerExport(env, exports) || !registerImport(env, exports)) {
    return nullptr;
  }
  return exports;
}

}  // namespace duckflight

NAPI_MODULE(NODE_GYP_MODULE_NAME, duckflight::init)
