// The part of DuckDB's C API (v1.5.5, src/include/duckdb.h) this addon calls, declared here so
// the build needs nothing but the libduckdb.so that @duckdb/node-bindings ships. Add a
// declaration when a source file needs one; the signatures must match DuckDB's header exactly
// (the linker checks names, not types).
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "arrow_c_data.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t idx_t;

typedef enum duckdb_state { DuckDBSuccess = 0, DuckDBError = 1 } duckdb_state;

typedef enum duckdb_result_type {
  DUCKDB_RESULT_TYPE_INVALID = 0,
  DUCKDB_RESULT_TYPE_CHANGED_ROWS = 1,
  DUCKDB_RESULT_TYPE_NOTHING = 2,
  DUCKDB_RESULT_TYPE_QUERY_RESULT = 3,
} duckdb_result_type;

// Every handle is a pointer to a struct holding one pointer into DuckDB.
typedef struct _duckdb_connection { void *internal_ptr; } *duckdb_connection;
typedef struct _duckdb_prepared_statement { void *internal_ptr; } *duckdb_prepared_statement;
typedef struct _duckdb_extracted_statements { void *internal_ptr; } *duckdb_extracted_statements;
typedef struct _duckdb_logical_type { void *internal_ptr; } *duckdb_logical_type;
typedef struct _duckdb_data_chunk { void *internal_ptr; } *duckdb_data_chunk;
typedef struct _duckdb_error_data { void *internal_ptr; } *duckdb_error_data;
typedef struct _duckdb_arrow_options { void *internal_ptr; } *duckdb_arrow_options;
typedef struct _duckdb_vector { void *internal_ptr; } *duckdb_vector;

// The type ids the direct conversion (chunk_arrow.cc) handles; the others keep DuckDB's converter.
typedef enum duckdb_type {
  DUCKDB_TYPE_INVALID = 0,
  DUCKDB_TYPE_BOOLEAN = 1,
  DUCKDB_TYPE_TINYINT = 2,
  DUCKDB_TYPE_SMALLINT = 3,
  DUCKDB_TYPE_INTEGER = 4,
  DUCKDB_TYPE_BIGINT = 5,
  DUCKDB_TYPE_UTINYINT = 6,
  DUCKDB_TYPE_USMALLINT = 7,
  DUCKDB_TYPE_UINTEGER = 8,
  DUCKDB_TYPE_UBIGINT = 9,
  DUCKDB_TYPE_FLOAT = 10,
  DUCKDB_TYPE_DOUBLE = 11,
  DUCKDB_TYPE_TIMESTAMP = 12,
  DUCKDB_TYPE_DATE = 13,
  DUCKDB_TYPE_TIME = 14,
  DUCKDB_TYPE_VARCHAR = 17,
  DUCKDB_TYPE_BLOB = 18,
  DUCKDB_TYPE_TIMESTAMP_TZ = 31,
} duckdb_type;

// A VARCHAR or BLOB value in a vector: up to 12 bytes inline, else a prefix and a pointer.
typedef struct {
  union {
    struct {
      uint32_t length;
      char prefix[4];
      char *ptr;
    } pointer;
    struct {
      uint32_t length;
      char inlined[12];
    } inlined;
  } value;
} duckdb_string_t;

// Passed by value to some functions, so its layout matters (six words, the first five deprecated).
typedef struct {
  idx_t deprecated_column_count;
  idx_t deprecated_row_count;
  idx_t deprecated_rows_changed;
  void *deprecated_columns;
  char *deprecated_error_message;
  void *internal_data;
} duckdb_result;

const char *duckdb_library_version(void);
void duckdb_interrupt(duckdb_connection connection);

idx_t duckdb_extract_statements(duckdb_connection connection, const char *query, duckdb_extracted_statements *out_extracted_statements);
duckdb_state duckdb_prepare_extracted_statement(duckdb_connection connection, duckdb_extracted_statements extracted_statements, idx_t index,
                                                duckdb_prepared_statement *out_prepared_statement);
const char *duckdb_extract_statements_error(duckdb_extracted_statements extracted_statements);
void duckdb_destroy_extracted(duckdb_extracted_statements *extracted_statements);

const char *duckdb_prepare_error(duckdb_prepared_statement prepared_statement);
void duckdb_destroy_prepare(duckdb_prepared_statement *prepared_statement);
idx_t duckdb_prepared_statement_column_count(duckdb_prepared_statement prepared_statement);
const char *duckdb_prepared_statement_column_name(duckdb_prepared_statement prepared_statement, idx_t col_idx);
duckdb_logical_type duckdb_prepared_statement_column_logical_type(duckdb_prepared_statement prepared_statement, idx_t col_idx);
void duckdb_destroy_logical_type(duckdb_logical_type *type);
duckdb_type duckdb_get_type_id(duckdb_logical_type type);

duckdb_state duckdb_execute_prepared_streaming(duckdb_prepared_statement prepared_statement, duckdb_result *out_result);
duckdb_data_chunk duckdb_fetch_chunk(duckdb_result result);
const char *duckdb_result_error(duckdb_result *result);
duckdb_result_type duckdb_result_return_type(duckdb_result result);
void duckdb_destroy_result(duckdb_result *result);

idx_t duckdb_data_chunk_get_size(duckdb_data_chunk chunk);
void duckdb_destroy_data_chunk(duckdb_data_chunk *chunk);
duckdb_vector duckdb_data_chunk_get_vector(duckdb_data_chunk chunk, idx_t col_idx);
void *duckdb_vector_get_data(duckdb_vector vector);
uint64_t *duckdb_vector_get_validity(duckdb_vector vector);

const char *duckdb_error_data_message(duckdb_error_data error_data);
bool duckdb_error_data_has_error(duckdb_error_data error_data);
void duckdb_destroy_error_data(duckdb_error_data *error_data);

void duckdb_connection_get_arrow_options(duckdb_connection connection, duckdb_arrow_options *out_arrow_options);
duckdb_arrow_options duckdb_result_get_arrow_options(duckdb_result *result);
void duckdb_destroy_arrow_options(duckdb_arrow_options *arrow_options);
duckdb_error_data duckdb_to_arrow_schema(duckdb_arrow_options arrow_options, duckdb_logical_type *types, const char **names, idx_t column_count,
                                         struct ArrowSchema *out_schema);
duckdb_error_data duckdb_data_chunk_to_arrow(duckdb_arrow_options arrow_options, duckdb_data_chunk chunk, struct ArrowArray *out_arrow_array);

#ifdef __cplusplus
}
#endif
