#include "ipc_writer.h"

#include <cstdlib>
#include <cstring>
#include <limits>

namespace duckflight {

namespace {

struct Node {
  int64_t length;
  int64_t nullCount;
};
struct Region {
  int64_t offset;
  int64_t length;
};

// A range of rows in one array, in physical terms (the array's offset already added).
struct Slice {
  const ArrowArray *array;
  int64_t begin;
  int64_t length;
};

inline int64_t pad8(int64_t n) { return (n + 7) & ~int64_t(7); }

inline bool bitAt(const uint8_t *bits, int64_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }

int64_t countNulls(const Slice &s) {
  const uint8_t *validity = s.array->n_buffers > 0 ? static_cast<const uint8_t *>(s.array->buffers[0]) : nullptr;
  if (validity == nullptr) return 0;
  if (s.begin == s.array->offset && s.length == s.array->length && s.array->null_count >= 0) return s.array->null_count;
  int64_t valid = 0;
  int64_t i = s.begin;
  const int64_t end = s.begin + s.length;
  for (; i < end && (i & 7); i++) valid += bitAt(validity, i);
  for (; i + 64 <= end; i += 64) {
    uint64_t word;
    std::memcpy(&word, validity + (i >> 3), 8);
    valid += __builtin_popcountll(word);
  }
  for (; i < end; i++) valid += bitAt(validity, i);
  return s.length - valid;
}

/** Copies `n` bits from src at bit `from` to dst at bit `to`; dst bits beyond are left as they are. */
void copyBits(uint8_t *dst, int64_t to, const uint8_t *src, int64_t from, int64_t n) {
  if (((to | from) & 7) == 0) {
    std::memcpy(dst + (to >> 3), src + (from >> 3), n >> 3);
    for (int64_t i = n & ~int64_t(7); i < n; i++) {
      if (bitAt(src, from + i)) dst[(to + i) >> 3] |= uint8_t(1 << ((to + i) & 7));
      else dst[(to + i) >> 3] &= uint8_t(~(1 << ((to + i) & 7)));
    }
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    if (bitAt(src, from + i)) dst[(to + i) >> 3] |= uint8_t(1 << ((to + i) & 7));
    else dst[(to + i) >> 3] &= uint8_t(~(1 << ((to + i) & 7)));
  }
}

void setBits(uint8_t *dst, int64_t to, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[(to + i) >> 3] |= uint8_t(1 << ((to + i) & 7));
}

/** Bytes per value of a fixed-width format, 0 if the format is not one; -1 for bit-packed booleans. */
int64_t fixedWidth(const char *format) {
  switch (format[0]) {
    case 'b': return -1;
    case 'c': case 'C': return 1;
    case 's': case 'S': case 'e': return 2;
    case 'i': case 'I': case 'f': return 4;
    case 'l': case 'L': case 'g': return 8;
    case 'd': return std::strstr(format, ",256") ? 32 : 16;
    case 'w': return std::atoll(format + 2);
    case 't':
      switch (format[1]) {
        case 'd': return format[2] == 'D' ? 4 : 8;
        case 't': return (format[2] == 's' || format[2] == 'm') ? 4 : 8;
        case 's': case 'D': return 8;
        case 'i': return format[2] == 'M' ? 4 : format[2] == 'D' ? 8 : 16;
        default: return 0;
      }
    default: return 0;
  }
}

// Lays out (write == false) or writes (write == true) the body of one batch. Both passes walk
// the same way; the layout pass records nodes and regions, the write pass fills them in order.
class BodyWalk {
 public:
  std::vector<Node> nodes;
  std::vector<Region> regions;
  int64_t bodyLength = 0;
  std::string error;

  /**
   * `columns`: the batch is the struct `schema` over `slices`, sent as its children (a record
   * batch has no node of its own); otherwise `schema` is the one column (a dictionary batch).
   */
  bool run(const ArrowSchema *schema, const std::vector<Slice> &slices, bool columns, uint8_t *body) {
    body_ = body;
    region_ = 0;
    node_ = 0;
    if (!columns) return field(schema, slices);
    for (int64_t c = 0; c < schema->n_children; c++) {
      if (!field(schema->children[c], childSlices(slices, c, 1))) return false;
    }
    return true;
  }

 private:
  uint8_t *body_ = nullptr;
  size_t region_ = 0;
  size_t node_ = 0;

  /** The next region: reserved in the layout pass, its memory in the write pass. */
  uint8_t *region(int64_t length) {
    if (body_ == nullptr) {
      regions.push_back({bodyLength, length});
      int64_t padded = pad8(length);
      bodyLength += padded;
      return nullptr;
    }
    const Region &r = regions[region_++];
    uint8_t *at = body_ + r.offset;
    std::memset(at + r.length, 0, pad8(r.length) - r.length);
    return at;
  }

  void node(int64_t length, int64_t nulls) {
    if (body_ == nullptr) nodes.push_back({length, nulls});
    else node_++;
  }

  static int64_t total(const std::vector<Slice> &slices) {
    int64_t n = 0;
    for (const Slice &s : slices) n += s.length;
    return n;
  }

  /** The validity bitmap; none (a zero-length region) when nothing is null. Returns the null count. */
  int64_t validity(const std::vector<Slice> &slices, int64_t length) {
    int64_t nulls = 0;
    if (body_ == nullptr) {
      for (const Slice &s : slices) nulls += countNulls(s);
      node(length, nulls);
      region(nulls == 0 ? 0 : (length + 7) / 8);
      return nulls;
    }
    nulls = nodes[node_].nullCount;
    node(length, nulls);
    uint8_t *out = region(nulls == 0 ? 0 : (length + 7) / 8);
    if (nulls == 0) return 0;
    int64_t at = 0;
    for (const Slice &s : slices) {
      if (s.length == 0) continue;
      const uint8_t *bits = s.array->n_buffers > 0 ? static_cast<const uint8_t *>(s.array->buffers[0]) : nullptr;
      if (bits) copyBits(out, at, bits, s.begin, s.length);
      else setBits(out, at, s.length);
      at += s.length;
    }
    return nulls;
  }

  template <typename Offset>
  bool variable(const ArrowSchema *schema, const std::vector<Slice> &slices, int64_t length, bool hasData) {
    // Offsets, rebased so the batch's first value starts at 0; then the values they point into.
    int64_t dataLength = 0;
    for (const Slice &s : slices) {
      if (s.length == 0) continue;
      const Offset *offsets = static_cast<const Offset *>(s.array->buffers[1]);
      dataLength += int64_t(offsets[s.begin + s.length] - offsets[s.begin]);
    }
    if (dataLength > int64_t(std::numeric_limits<Offset>::max())) {
      error = "a batch's values exceed the offsets' range";
      return false;
    }
    uint8_t *out = region(int64_t(sizeof(Offset)) * (length + 1));
    if (out) {
      Offset *o = reinterpret_cast<Offset *>(out);
      Offset running = 0;
      o[0] = 0;
      int64_t at = 1;
      for (const Slice &s : slices) {
        if (s.length == 0) continue;
        const Offset *offsets = static_cast<const Offset *>(s.array->buffers[1]);
        const Offset base = offsets[s.begin];
        for (int64_t i = 1; i <= s.length; i++) o[at++] = running + (offsets[s.begin + i] - base);
        running += offsets[s.begin + s.length] - base;
      }
    }
    if (hasData) {
      uint8_t *data = region(dataLength);
      if (data) {
        for (const Slice &s : slices) {
          if (s.length == 0) continue;
          const Offset *offsets = static_cast<const Offset *>(s.array->buffers[1]);
          const int64_t from = offsets[s.begin], n = offsets[s.begin + s.length] - offsets[s.begin];
          if (n > 0) std::memcpy(data, static_cast<const uint8_t *>(s.array->buffers[2]) + from, n);
          data += n;
        }
      }
      return true;
    }
    // A list: the child rows the offsets cover.
    std::vector<Slice> children;
    for (const Slice &s : slices) {
      if (s.length == 0) continue;
      const ArrowArray *child = s.array->children[0];
      const Offset *offsets = static_cast<const Offset *>(s.array->buffers[1]);
      children.push_back({child, child->offset + int64_t(offsets[s.begin]), int64_t(offsets[s.begin + s.length] - offsets[s.begin])});
    }
    return field(schema->children[0], children);
  }

  static std::vector<Slice> childSlices(const std::vector<Slice> &slices, int64_t child, int64_t scale) {
    std::vector<Slice> out;
    out.reserve(slices.size());
    for (const Slice &s : slices) {
      const ArrowArray *c = s.array->children[child];
      out.push_back({c, c->offset + s.begin * scale, s.length * scale});
    }
    return out;
  }

  bool field(const ArrowSchema *schema, const std::vector<Slice> &slices) {
    const char *format = schema->format;
    const int64_t length = total(slices);
    if (format[0] == 'n' && format[1] == 0) {
      node(length, length);
      return true;
    }
    if (format[0] == '+') {
      switch (format[1]) {
        case 's':
          validity(slices, length);
          for (int64_t c = 0; c < schema->n_children; c++) {
            if (!field(schema->children[c], childSlices(slices, c, 1))) return false;
          }
          return true;
        case 'l': case 'm':
          validity(slices, length);
          return variable<int32_t>(schema, slices, length, false);
        case 'L':
          validity(slices, length);
          return variable<int64_t>(schema, slices, length, false);
        case 'w': {
          validity(slices, length);
          return field(schema->children[0], childSlices(slices, 0, std::atoll(format + 3)));
        }
        case 'u':
          if (format[2] == 's') {
            // Sparse union: no validity in IPC v5; the type ids, then every child over the same rows.
            node(length, 0);
            uint8_t *ids = region(length);
            if (ids) {
              for (const Slice &s : slices) {
                if (s.length == 0) continue;
                std::memcpy(ids, static_cast<const uint8_t *>(s.array->buffers[0]) + s.begin, s.length);
                ids += s.length;
              }
            }
            for (int64_t c = 0; c < schema->n_children; c++) {
              if (!field(schema->children[c], childSlices(slices, c, 1))) return false;
            }
            return true;
          }
          break;
        default: break;
      }
      error = std::string("the native export has no layout for the Arrow format '") + format + "'";
      return false;
    }
    if ((format[0] == 'u' || format[0] == 'z') && format[1] == 0) {
      validity(slices, length);
      return variable<int32_t>(schema, slices, length, true);
    }
    if ((format[0] == 'U' || format[0] == 'Z') && format[1] == 0) {
      validity(slices, length);
      return variable<int64_t>(schema, slices, length, true);
    }
    const int64_t width = fixedWidth(format);
    if (width == 0) {
      error = std::string("the native export has no layout for the Arrow format '") + format + "'";
      return false;
    }
    validity(slices, length);
    if (width < 0) {
      uint8_t *out = region((length + 7) / 8);
      if (out) {
        int64_t at = 0;
        for (const Slice &s : slices) {
          if (s.length == 0) continue;
          copyBits(out, at, static_cast<const uint8_t *>(s.array->buffers[1]), s.begin, s.length);
          at += s.length;
        }
      }
      return true;
    }
    uint8_t *out = region(width * length);
    if (out) {
      for (const Slice &s : slices) {
        if (s.length == 0) continue;
        std::memcpy(out, static_cast<const uint8_t *>(s.array->buffers[1]) + s.begin * width, s.length * width);
        out += s.length * width;
      }
    }
    return true;
  }
};

// Flatbuffers, written front to back: every offset points forward, tables and vectors aligned
// to 8 from the start of the message (the Message schema: Arrow's format/Message.fbs).
class Flatbuffer {
 public:
  std::vector<uint8_t> bytes;

  size_t alignTo(size_t alignment, size_t remainder = 0) {
    while (bytes.size() % alignment != remainder) bytes.push_back(0);
    return bytes.size();
  }
  size_t reserve(size_t n) {
    size_t at = bytes.size();
    bytes.resize(at + n, 0);
    return at;
  }
  template <typename T>
  void put(size_t at, T value) {
    std::memcpy(bytes.data() + at, &value, sizeof(T));
  }
  /** A vtable listing field offsets within a table of `tableSize` bytes. */
  size_t vtable(std::initializer_list<uint16_t> fields, uint16_t tableSize) {
    alignTo(2);
    size_t at = reserve(4 + 2 * fields.size());
    put<uint16_t>(at, uint16_t(4 + 2 * fields.size()));
    put<uint16_t>(at + 2, tableSize);
    size_t i = 0;
    for (uint16_t f : fields) put<uint16_t>(at + 4 + 2 * i++, f);
    return at;
  }
  size_t table(size_t vtableAt, size_t size) {
    size_t at = alignTo(8);
    reserve(size);
    put<int32_t>(at, int32_t(at - vtableAt));
    return at;
  }
  /** Points the uoffset field at `fieldAt` to `target` (which lies after it). */
  void link(size_t fieldAt, size_t target) { put<uint32_t>(fieldAt, uint32_t(target - fieldAt)); }
  /** A vector of 16-byte structs of two int64 each. */
  size_t pairs(const std::vector<std::pair<int64_t, int64_t>> &items) {
    size_t at = alignTo(8, 4);
    reserve(4 + 16 * items.size());
    put<uint32_t>(at, uint32_t(items.size()));
    for (size_t i = 0; i < items.size(); i++) {
      put<int64_t>(at + 4 + 16 * i, items[i].first);
      put<int64_t>(at + 12 + 16 * i, items[i].second);
    }
    return at;
  }
};

constexpr int16_t kMetadataV5 = 4;
constexpr uint8_t kHeaderDictionaryBatch = 2;
constexpr uint8_t kHeaderRecordBatch = 3;

/** table RecordBatch { length: long; nodes: [FieldNode]; buffers: [Buffer]; } */
size_t recordBatchTable(Flatbuffer &fb, int64_t rows, const BodyWalk &walk) {
  size_t vt = fb.vtable({8, 4, 16}, 24);
  size_t table = fb.table(vt, 24);
  fb.put<int64_t>(table + 8, rows);
  std::vector<std::pair<int64_t, int64_t>> nodes, buffers;
  for (const Node &n : walk.nodes) nodes.emplace_back(n.length, n.nullCount);
  for (const Region &r : walk.regions) buffers.emplace_back(r.offset, r.length);
  fb.link(table + 4, fb.pairs(nodes));
  fb.link(table + 16, fb.pairs(buffers));
  return table;
}

/** The Message around a header table written next (by `header`). */
template <typename Header>
std::vector<uint8_t> message(uint8_t headerType, int64_t bodyLength, Header header) {
  Flatbuffer fb;
  size_t root = fb.reserve(4);
  // table Message { version: short; header_type: ubyte; header: offset; bodyLength: long; }
  size_t vt = fb.vtable({16, 18, 4, 8}, 20);
  size_t table = fb.table(vt, 24);
  fb.link(root, table);
  fb.put<int16_t>(table + 16, kMetadataV5);
  fb.put<uint8_t>(table + 18, headerType);
  fb.put<int64_t>(table + 8, bodyLength);
  fb.link(table + 4, header(fb));
  fb.alignTo(8);
  return std::move(fb.bytes);
}

bool buildMessage(const ArrowSchema *schema, const std::vector<Slice> &slices, bool columns, int64_t rows, int64_t dictionaryId,
                  const BodyAllocator &allocate, IpcMessage *out, std::string *error) {
  BodyWalk walk;
  if (!walk.run(schema, slices, columns, nullptr)) {
    *error = walk.error;
    return false;
  }
  out->bodyLength = walk.bodyLength;
  const int64_t size = walk.bodyLength > 0 ? walk.bodyLength : 1;
  out->body = allocate ? allocate(size, &out->slab) : static_cast<uint8_t *>(std::malloc(size));
  if (out->body == nullptr) {
    *error = "out of memory for a batch body";
    return false;
  }
  walk.run(schema, slices, columns, out->body);
  out->rows = dictionaryId < 0 ? rows : 0;
  if (dictionaryId < 0) {
    out->header = message(kHeaderRecordBatch, walk.bodyLength, [&](Flatbuffer &fb) { return recordBatchTable(fb, rows, walk); });
  } else {
    out->header = message(kHeaderDictionaryBatch, walk.bodyLength, [&](Flatbuffer &fb) {
      // table DictionaryBatch { id: long; data: RecordBatch; isDelta: bool; }
      size_t vt = fb.vtable({8, 4}, 16);
      size_t table = fb.table(vt, 16);
      fb.put<int64_t>(table + 8, dictionaryId);
      fb.link(table + 4, recordBatchTable(fb, rows, walk));
      return table;
    });
  }
  return true;
}

/** Dictionaries in the order the schema names them (depth first), the order ids are given. */
void collectDictionaries(const ArrowSchema *schema, const ArrowArray *array, std::vector<std::pair<const ArrowSchema *, const ArrowArray *>> *out) {
  if (schema->dictionary) out->emplace_back(schema->dictionary, array ? array->dictionary : nullptr);
  for (int64_t c = 0; c < schema->n_children; c++) {
    collectDictionaries(schema->children[c], array && c < array->n_children ? array->children[c] : nullptr, out);
  }
}

}  // namespace

int64_t IpcWriter::bodyBytes(const ArrowArray *array, int64_t start, int64_t length) const {
  BodyWalk walk;
  std::vector<Slice> slices{{array, array->offset + start, length}};
  return walk.run(schema_, slices, true, nullptr) ? walk.bodyLength : 0;
}

bool IpcWriter::write(const std::vector<Piece> &pieces, std::vector<IpcMessage> *out, std::string *error) {
  if (!dictionariesSent_ && !pieces.empty()) {
    std::vector<std::pair<const ArrowSchema *, const ArrowArray *>> dictionaries;
    collectDictionaries(schema_, pieces[0].array, &dictionaries);
    for (size_t id = 0; id < dictionaries.size(); id++) {
      const ArrowArray *values = dictionaries[id].second;
      if (values == nullptr) {
        *error = "a dictionary-encoded column came without its dictionary";
        return false;
      }
      // A dictionary batch is a one-column record batch of the values.
      IpcMessage message;
      std::vector<Slice> slices{{values, values->offset, values->length}};
      if (!buildMessage(dictionaries[id].first, slices, false, values->length, int64_t(id), nullptr, &message, error)) return false;
      out->push_back(std::move(message));
    }
    dictionariesSent_ = true;
  }
  std::vector<Slice> slices;
  int64_t rows = 0;
  for (const Piece &p : pieces) {
    slices.push_back({p.array, p.array->offset + p.start, p.length});
    rows += p.length;
  }
  IpcMessage message;
  if (!buildMessage(schema_, slices, true, rows, -1, allocate_, &message, error)) return false;
  out->push_back(std::move(message));
  return true;
}

}  // namespace duckflight
