// The DuckDB C API functions the import side calls (DuckDB v1.5.5, src/include/duckdb.h), beside
// duckdb_c_api.h so the export and import sides add declarations without touching each other's,
// and the Arrow C stream interface from the Arrow specification.
#pragma once

#include "duckdb_c_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
  int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
  const char *(*get_last_error)(struct ArrowArrayStream *);
  void (*release)(struct ArrowArrayStream *);
  void *private_data;
};

#endif  // ARROW_C_STREAM_INTERFACE

typedef struct _duckdb_arrow_stream { void *internal_ptr; } *duckdb_arrow_stream;

duckdb_state duckdb_query(duckdb_connection connection, const char *query, duckdb_result *out_result);
duckdb_state duckdb_arrow_scan(duckdb_connection connection, const char *table_name, duckdb_arrow_stream arrow);

#ifdef __cplusplus
}
#endif
