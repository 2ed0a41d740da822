// DuckDB chunks as Arrow arrays without DuckDB's Arrow appender, for results whose every column
// has an Arrow layout that is DuckDB's own vector (fixed width: the array points into the chunk)
// or one step from it (VARCHAR and BLOB: offsets and bytes; BOOLEAN: bits). DuckDB's converter
// (duckdb_data_chunk_to_arrow) appends value by value into buffers it grows as it goes; this
// takes the vectors as they are, and the IPC writer copies them once, into the body.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "arrow_c_data.h"
#include "duckdb_c_api.h"

namespace duckflight {

class ChunkToArrow {
 public:
  /**
   * A converter for chunks of these column types, or null when some column needs DuckDB's
   * converter: a type not handled here, or an Arrow format in `schema` (DuckDB's own for the
   * result, which follows the connection's Arrow settings) other than the one written here.
   */
  static std::unique_ptr<ChunkToArrow> create(const std::vector<duckdb_type> &types, const ArrowSchema &schema);

  /**
   * The chunk as a struct array of its columns; the array owns the chunk from here on (its
   * release destroys it). False with `error` set when a column's values exceed 32-bit offsets;
   * the chunk is destroyed then too.
   */
  bool convert(duckdb_data_chunk chunk, ArrowArray *out, std::string *error) const;

  enum class Kind { Fixed, Boolean, Binary };

 private:
  explicit ChunkToArrow(std::vector<Kind> kinds) : kinds_(std::move(kinds)) {}
  std::vector<Kind> kinds_;
};

}  // namespace duckflight
