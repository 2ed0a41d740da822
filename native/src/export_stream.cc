#include "addon.h"

namespace duckflight {

bool registerExport(napi_env, napi_value) { return true; }

}  // namespace duckflight
