// Small helpers over plain N-API: argument checks that throw a JavaScript error and return
// nullptr, so every exported function reads as "check, then work".
#pragma once

#include <node_api.h>

#include <string>

#define NAPI_OK_OR_RETURN(env, call)                                      \
  do {                                                                    \
    if ((call) != napi_ok) {                                              \
      const napi_extended_error_info *info_ = nullptr;                    \
      napi_get_last_error_info((env), &info_);                            \
      bool pending_ = false;                                              \
      napi_is_exception_pending((env), &pending_);                        \
      if (!pending_) {                                                    \
        napi_throw_error((env), nullptr,                                  \
                         info_ && info_->error_message ? info_->error_message : "N-API call failed"); \
      }                                                                   \
      return nullptr;                                                     \
    }                                                                     \
  } while (0)

namespace duckflight {

/** Throws a JavaScript Error with `message`; returns nullptr for `return throwError(...)`. */
napi_value throwError(napi_env env, const std::string &message);

/** The UTF-8 text of a string argument, or false (with a TypeError thrown). */
bool stringArg(napi_env env, napi_value value, const char *what, std::string *out);

/** An integer-valued number argument, or false (with a TypeError thrown). */
bool int64Arg(napi_env env, napi_value value, const char *what, int64_t *out);

napi_value makeString(napi_env env, const std::string &text);

/** Registers `fn` as `name` on `exports`. */
bool exportFunction(napi_env env, napi_value exports, const char *name, napi_callback fn);

}  // namespace duckflight
