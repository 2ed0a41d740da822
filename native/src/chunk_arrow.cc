#include "chunk_arrow.h"

#include <cstdlib>
#include <cstring>
#include <limits>

namespace duckflight {

namespace {

/** The Arrow format each handled type is written as, and how. */
struct Handled {
  duckdb_type type;
  const char *format;  // the whole format, or its prefix when it ends with ':'
  ChunkToArrow::Kind kind;
};

const Handled kHandled[] = {
    {DUCKDB_TYPE_BOOLEAN, "b", ChunkToArrow::Kind::Boolean},
    {DUCKDB_TYPE_TINYINT, "c", ChunkToArrow::Kind::Fixed},
    {DUCKDB_TYPE_SMALLINT, "s", ChunkToArrow::Kind::Fixed},
    {DUCKDB_TYPE_INTEGER, "i", ChunkToArrow::Kind::Fixed},
    {DUCKDB_TYPE_BIGINT, "l", ChunkToArrow::Kind::Fixed},
    {DUCKDB_TYPE_UTINYINT, "C", ChunkToArrow::Kind::Fixed},
    {DUCKDB_TYPE_USMALLINT, "S", ChunkToArrow::Kind::Fixed},
    {DUCKDB_TYPE_UINTEGER, "I", ChunkToArrow::Kind::Fixed},
    {DUCKDB_TYPE_UBIGINT, "L", ChunkToArrow::Kind::Fixed},
    {DUCKDB_TYPE_FLOAT, "f", ChunkToArrow::Kind::Fixed},
    {DUCKDB_TYPE_DOUBLE, "g", ChunkToArrow::Kind::Fixed},
    {DUCKDB_TYPE_DATE, "tdD", ChunkToArrow::Kind::Fixed},    // days since 1970 in 32 bits, both
    {DUCKDB_TYPE_TIME, "ttu", ChunkToArrow::Kind::Fixed},    // microseconds since midnight in 64 bits
    {DUCKDB_TYPE_TIMESTAMP, "tsu:", ChunkToArrow::Kind::Fixed},     // microseconds since 1970 in 64 bits
    {DUCKDB_TYPE_TIMESTAMP_TZ, "tsu:", ChunkToArrow::Kind::Fixed},  // the same instant, UTC
    {DUCKDB_TYPE_VARCHAR, "u", ChunkToArrow::Kind::Binary},
    {DUCKDB_TYPE_BLOB, "z", ChunkToArrow::Kind::Binary},
};

bool formatMatches(const char *format, const char *expected) {
  const size_t n = std::strlen(expected);
  if (expected[n - 1] == ':') return std::strncmp(format, expected, n) == 0;
  return std::strcmp(format, expected) == 0;
}

/** What a converted chunk's array owns: the chunk itself and the buffers built beside it. */
struct Holder {
  duckdb_data_chunk chunk = nullptr;
  std::vector<ArrowArray> children;
  std::vector<ArrowArray *> childPointers;
  std::vector<const void *> buffers;  // three slots a column
  std::vector<void *> owned;          // malloc'd offsets, bytes and bits
  const void *structValidity = nullptr;  // the struct array's: none

  ~Holder() {
    for (void *p : owned) std::free(p);
    if (chunk) duckdb_destroy_data_chunk(&chunk);
  }
};

// Children belong to the struct array: its release frees everything.
void releaseChild(ArrowArray *array) { array->release = nullptr; }

void releaseStruct(ArrowArray *array) {
  delete static_cast<Holder *>(array->private_data);
  array->release = nullptr;
}

}  // namespace

std::unique_ptr<ChunkToArrow> ChunkToArrow::create(const std::vector<duckdb_type> &types, const ArrowSchema &schema) {
  if (int64_t(types.size()) != schema.n_children || types.empty()) return nullptr;
  std::vector<Kind> kinds;
  for (size_t c = 0; c < types.size(); c++) {
    const ArrowSchema *field = schema.children[c];
    if (field->dictionary != nullptr || field->n_children != 0) return nullptr;
    const Handled *match = nullptr;
    for (const Handled &h : kHandled) {
      if (h.type == types[c] && formatMatches(field->format, h.format)) match = &h;
    }
    if (match == nullptr) return nullptr;
    kinds.push_back(match->kind);
  }
  return std::unique_ptr<ChunkToArrow>(new ChunkToArrow(std::move(kinds)));
}

bool ChunkToArrow::convert(duckdb_data_chunk chunk, ArrowArray *out, std::string *error) const {
  auto holder = std::make_unique<Holder>();
  holder->chunk = chunk;
  const int64_t rows = int64_t(duckdb_data_chunk_get_size(chunk));
  const size_t columns = kinds_.size();
  holder->children.resize(columns);
  holder->childPointers.resize(columns);
  holder->buffers.assign(columns * 3, nullptr);
  for (size_t c = 0; c < columns; c++) {
    duckdb_vector vector = duckdb_data_chunk_get_vector(chunk, c);
    const uint64_t *validity = duckdb_vector_get_validity(vector);
    const void *data = duckdb_vector_get_data(vector);
    const void **buffers = &holder->buffers[c * 3];
    ArrowArray &child = holder->children[c];
    std::memset(&child, 0, sizeof(child));
    child.length = rows;
    // A validity mask is DuckDB's words of bits, least significant first: Arrow's bitmap.
    child.null_count = validity == nullptr ? 0 : -1;
    buffers[0] = validity;
    child.buffers = buffers;
    child.release = releaseChild;
    switch (kinds_[c]) {
      case Kind::Fixed:
        child.n_buffers = 2;
        buffers[1] = data;
        break;
      case Kind::Boolean: {
        // DuckDB keeps a byte a value; Arrow a bit.
        auto *bits = static_cast<uint8_t *>(std::calloc(size_t((rows + 7) / 8) + 1, 1));
        holder->owned.push_back(bits);
        const auto *bytes = static_cast<const uint8_t *>(data);
        for (int64_t i = 0; i < rows; i++) bits[i >> 3] |= uint8_t((bytes[i] != 0) << (i & 7));
        child.n_buffers = 2;
        buffers[1] = bits;
        break;
      }
      case Kind::Binary: {
        const auto *strings = static_cast<const duckdb_string_t *>(data);
        auto valid = [&](int64_t i) { return validity == nullptr || ((validity[i >> 6] >> (i & 63)) & 1); };
        int64_t total = 0;
        for (int64_t i = 0; i < rows; i++) {
          if (valid(i)) total += strings[i].value.inlined.length;
        }
        if (total > int64_t(std::numeric_limits<int32_t>::max())) {
          *error = "a chunk's text or binary values exceed 2 GiB, more than 32-bit offsets reach";
          return false;  // the holder destroys the chunk
        }
        auto *offsets = static_cast<int32_t *>(std::malloc(size_t(rows + 1) * sizeof(int32_t)));
        auto *bytes = static_cast<uint8_t *>(std::malloc(size_t(total > 0 ? total : 1)));
        holder->owned.push_back(offsets);
        holder->owned.push_back(bytes);
        if (offsets == nullptr || bytes == nullptr) {
          *error = "out of memory converting a chunk";
          return false;
        }
        int32_t at = 0;
        for (int64_t i = 0; i < rows; i++) {
          offsets[i] = at;
          if (!valid(i)) continue;
          const uint32_t length = strings[i].value.inlined.length;
          const char *from = length <= 12 ? strings[i].value.inlined.inlined : strings[i].value.pointer.ptr;
          std::memcpy(bytes + at, from, length);
          at += int32_t(length);
        }
        offsets[rows] = at;
        child.n_buffers = 3;
        buffers[1] = offsets;
        buffers[2] = bytes;
        break;
      }
    }
    holder->childPointers[c] = &child;
  }
  std::memset(out, 0, sizeof(*out));
  out->length = rows;
  out->null_count = 0;
  out->n_buffers = 1;
  out->buffers = &holder->structValidity;
  out->n_children = int64_t(columns);
  out->children = holder->childPointers.data();
  out->release = releaseStruct;
  out->private_data = holder.release();
  return true;
}

}  // namespace duckflight
