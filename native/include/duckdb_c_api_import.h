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

typedef struct _duckdb_appender { void *internal_ptr; } *duckdb_appender;
typedef struct _duckdb_arrow_converted_schema { void *internal_ptr; } *duckdb_arrow_converted_schema;

duckdb_error_data duckdb_schema_from_arrow(duckdb_connection connection, struct ArrowSchema *schema, duckdb_arrow_converted_schema *out_types);
duckdb_error_data duckdb_data_chunk_from_arrow(duckdb_connection connection, struct ArrowArray *arrow_array,
                                               duckdb_arrow_converted_schema converted_schema, duckdb_data_chunk *out_chunk);
void duckdb_destroy_arrow_converted_schema(duckdb_arrow_converted_schema *arrow_converted_schema);
duckdb_state duckdb_appender_create_ext(duckdb_connection connection, const char *catalog, const char *schema, const char *table,
                                        duckdb_appender *out_appender);
duckdb_state duckdb_append_data_chunk(duckdb_appender appender, duckdb_data_chunk chunk);
const char *duckdb_appender_error(duckdb_appender appender);
duckdb_state duckdb_appender_close(duckdb_appender appender);
duckdb_state duckdb_appender_destroy(duckdb_appender *appender);

duckdb_state duckdb_query(duckdb_connection connection, const char *query, duckdb_result *out_result);
duckdb_state duckdb_arrow_scan(duckdb_connection connection, const char *table_name, duckdb_arrow_stream arrow);

#ifdef __cplusplus
}
#endif
