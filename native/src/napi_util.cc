#include "napi_util.h"

namespace duckflight {

napi_value throwError(napi_env env, const std::string &message) {
  napi_throw_error(env, nullptr, message.c_str());
  return nullptr;
}

bool stringArg(napi_env env, napi_value value, const char *what, std::string *out) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok) {
    napi_throw_type_error(env, nullptr, (std::string(what) + " must be a string").c_str());
    return false;
  }
  out->resize(length + 1);
  napi_get_value_string_utf8(env, value, out->data(), length + 1, &length);
  out->resize(length);
  return true;
}

bool int64Arg(napi_env env, napi_value value, const char *what, int64_t *out) {
  double number = 0;
  if (napi_get_value_double(env, value, &number) != napi_ok || number != static_cast<double>(static_cast<int64_t>(number))) {
    napi_throw_type_error(env, nullptr, (std::string(what) + " must be an integer").c_str());
    return false;
  }
  *out = static_cast<int64_t>(number);
  return true;
}

napi_value makeString(napi_env env, const std::string &text) {
  napi_value value = nullptr;
  napi_create_string_utf8(env, text.data(), text.size(), &value);
  return value;
}

bool exportFunction(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value function = nullptr;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &function) == napi_ok &&
         napi_set_named_property(env, exports, name, function) == napi_ok;
}

}  // namespace duckflight
