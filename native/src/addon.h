#pragma once

#include <node_api.h>

namespace duckflight {

/** export_stream.cc: openExportStream, nextExportBatch, closeExportStream. */
bool registerExport(napi_env env, napi_value exports);

/** import_stream.cc: openImport, pushImport, finishImport, abortImport, closeImport. */
bool registerImport(napi_env env, napi_value exports);

}  // namespace duckflight
