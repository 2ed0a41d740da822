// Export: a DuckDB streaming query as Arrow IPC messages, produced on a thread of the stream's
// own; each body reaches JavaScript over the memory it was written into, without a copy
// (napi_create_external_buffer, or a view of a reused slab's ArrayBuffer).
//
//   openExport(connection, sql, { batchRows, maxBatchBytes, readAhead, reuseBodies, duckdbConverter })
//       -> Promise<{ stream, fields, converter: 'direct' | 'duckdb' }>
//   nextExport(stream) -> Promise<{ header, body, rows, slab }[] | null>   (null: the result has ended)
//   releaseExportBody(stream, slab)   (reuseBodies: JavaScript is done with the body in `slab`;
//                                      slab -1, a body of its own, needs no release)
//   closeExport(stream) -> Promise<void>   (interrupts a running query; resolves once the
//                                           connection has no active query)
//
// A fetcher thread pulls DuckDB chunks (duckdb_fetch_chunk, which also runs the scan) into a
// short queue; the producer thread converts each to Arrow, the types always those of DuckDB's
// Arrow export for the result's Arrow options: when every column is of a type chunk_arrow.cc
// handles, by taking the vectors as they are; otherwise (or with duckdbConverter) with DuckDB's
// own converter, duckdb_data_chunk_to_arrow. It gathers them to batchRows rows (or maxBatchBytes
// bytes) and writes the IPC messages (ipc_writer.cc). At most `readAhead` batches wait for
// JavaScript.
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "addon.h"
#include "chunk_arrow.h"
#include "duckdb_c_api.h"
#include "ipc_writer.h"
#include "napi_util.h"
#include "shared_connection.h"

namespace duckflight {

namespace {

struct ArrayDeleter {
  void operator()(ArrowArray *array) const {
    if (array->release) array->release(array);
    delete array;
  }
};
using OwnedArray = std::unique_ptr<ArrowArray, ArrayDeleter>;

std::string takeError(duckdb_error_data error) {
  std::string message = duckdb_error_data_message(error) ? duckdb_error_data_message(error) : "unknown DuckDB error";
  duckdb_destroy_error_data(&error);
  return message;
}

// Bodies smaller than this are malloc'd for each batch even when bodies are reused.
constexpr int64_t kSlabMinBytes = 256 * 1024;

/**
 * Memory for record batch bodies, used again batch after batch when JavaScript says it is done
 * with one (releaseExportBody). A body in fresh memory per batch costs the kernel a page fault
 * per 4 KiB and V8 its external-memory accounting: a full GC every 64 MB or so, about 100 per
 * 24M flights rows, which took more CPU than the Arrow conversion.
 */
struct Slab {
  uint8_t *data = nullptr;
  int64_t capacity = 0;
  bool free = false;
  // JavaScript thread only. Once set, the ArrayBuffer owns `data` (its finalizer frees it); the
  // reference keeps it alive while the stream may still write into it.
  napi_ref arrayBuffer = nullptr;
};

class ExportStream {
 public:
  ExportStream(duckdb_connection connection, std::string sql, int64_t batchRows, int64_t maxBatchBytes, size_t readAhead,
               bool reuseBodies, bool duckdbConverter)
      : connection_(connection),
        sql_(std::move(sql)),
        batchRows_(batchRows),
        maxBatchBytes_(maxBatchBytes),
        readAhead_(readAhead),
        reuseBodies_(reuseBodies),
        duckdbConverter_(duckdbConverter) {}

  ~ExportStream() {
    stopAndJoin();
    for (auto &batch : queue_) freeMessages(batch);
    for (auto &slab : slabs_) {
      if (slab->arrayBuffer == nullptr) std::free(slab->data);  // else dropSlabs gave it to JavaScript's GC
    }
    if (prepared_) duckdb_destroy_prepare(&prepared_);
    if (schema_.release) schema_.release(&schema_);
  }

  /** JavaScript thread, once the producer has stopped: the slabs JavaScript holds go to its GC. */
  void dropSlabs(napi_env env) {
    std::lock_guard<std::mutex> lock(slabMutex_);
    for (auto &slab : slabs_) {
      if (slab->arrayBuffer == nullptr) continue;
      napi_delete_reference(env, slab->arrayBuffer);
      slab->arrayBuffer = nullptr;
      slab->data = nullptr;  // the ArrayBuffer's to free
    }
  }

  /** JavaScript is done with a body it was given in slab `index` (releaseExportBody). */
  void releaseSlab(int64_t index) {
    std::lock_guard<std::mutex> lock(slabMutex_);
    if (index >= 0 && size_t(index) < slabs_.size()) slabs_[index]->free = true;
  }

  // --- open: on a libuv worker (napi async work) ---

  /** Prepares the last statement of the SQL (the caller ran the ones before) and describes its result. */
  bool prepare() {
    duckdb_extracted_statements extracted = nullptr;
    idx_t count = duckdb_extract_statements(connection_, sql_.c_str(), &extracted);
    if (count == 0) {
      const char *e = duckdb_extract_statements_error(extracted);
      error_ = e ? e : "the SQL text holds no statement";
      duckdb_destroy_extracted(&extracted);
      return false;
    }
    if (duckdb_prepare_extracted_statement(connection_, extracted, count - 1, &prepared_) != DuckDBSuccess) {
      const char *e = duckdb_prepare_error(prepared_);
      error_ = e ? e : "the statement could not be prepared";
      duckdb_destroy_extracted(&extracted);
      return false;
    }
    duckdb_destroy_extracted(&extracted);
    const idx_t columns = duckdb_prepared_statement_column_count(prepared_);
    std::vector<duckdb_logical_type> types(columns);
    std::vector<const char *> names(columns);
    std::vector<duckdb_type> ids(columns);
    for (idx_t c = 0; c < columns; c++) {
      types[c] = duckdb_prepared_statement_column_logical_type(prepared_, c);
      names[c] = duckdb_prepared_statement_column_name(prepared_, c);
      ids[c] = duckdb_get_type_id(types[c]);
    }
    duckdb_arrow_options options = nullptr;
    duckdb_connection_get_arrow_options(connection_, &options);
    duckdb_error_data e = duckdb_to_arrow_schema(options, types.data(), names.data(), columns, &schema_);
    duckdb_destroy_arrow_options(&options);
    for (auto &t : types) duckdb_destroy_logical_type(&t);
    if (e != nullptr && duckdb_error_data_has_error(e)) {
      error_ = takeError(e);
      return false;
    }
    if (e != nullptr) duckdb_destroy_error_data(&e);
    writer_ = std::make_unique<IpcWriter>(&schema_);
    if (!duckdbConverter_) direct_ = ChunkToArrow::create(ids, schema_);
    if (reuseBodies_) writer_->setBodyAllocator([this](int64_t length, int32_t *slab) { return allocateBody(length, slab); });
    return true;
  }

  const std::string &openError() const { return error_; }
  const ArrowSchema &schema() const { return schema_; }
  bool direct() const { return direct_ != nullptr; }

  // --- the producer thread ---

  void start(napi_threadsafe_function wake) {
    wake_ = wake;
    thread_ = std::thread([this] { produce(); });
  }

  // --- JavaScript thread ---

  /** Settles `deferred` if a batch, the end or an error is there; false when it has to wait. */
  bool settle(napi_env env, napi_deferred deferred) {
    std::vector<IpcMessage> batch;
    std::string error;
    bool ended = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!queue_.empty()) {
        batch = std::move(queue_.front());
        queue_.pop_front();
        room_.notify_one();
      } else if (finished_) {
        ended = true;
        error = producerError_;
      } else {
        return false;
      }
    }
    if (ended && !error.empty() && !cancelled_) {
      napi_value message = makeString(env, error), value = nullptr;
      napi_create_error(env, nullptr, message, &value);
      napi_reject_deferred(env, deferred, value);
      return true;
    }
    napi_value value = nullptr;
    if (ended) {
      napi_get_null(env, &value);
    } else {
      napi_create_array_with_length(env, batch.size(), &value);
      for (size_t i = 0; i < batch.size(); i++) value_set(env, value, i, batch[i]);
    }
    napi_resolve_deferred(env, deferred, value);
    return true;
  }

  /** Asks the query to stop: interrupts DuckDB if it is still producing, wakes a waiting producer. */
  void cancel() {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    // Also while duckdb_execute_prepared_streaming is still running the query (an aggregate
    // computes everything before its first chunk). An interrupt of an idle connection does not
    // reach the next query: DuckDB clears the flag when a query starts.
    if (!finished_) duckdb_interrupt(connection_);
    room_.notify_all();
    chunkReady_.notify_all();
    chunkRoom_.notify_all();
  }

  /** Waits for the producer to end (it destroys the result on its way out). */
  void stopAndJoin() {
    if (!thread_.joinable()) return;
    cancel();
    thread_.join();
  }

  napi_deferred pending = nullptr;
  napi_threadsafe_function wake() const { return wake_; }
  bool closing = false;

 private:
  /** A record batch body: a free slab that fits, a new slab while there are fewer than the pool holds, else malloc. */
  uint8_t *allocateBody(int64_t length, int32_t *slab) {
    *slab = -1;
    if (length >= kSlabMinBytes) {
      std::lock_guard<std::mutex> lock(slabMutex_);
      for (size_t i = 0; i < slabs_.size(); i++) {
        Slab &s = *slabs_[i];
        if (s.free && s.data != nullptr && s.capacity >= length) {
          s.free = false;
          *slab = int32_t(i);
          return s.data;
        }
      }
      // Enough for the batches read ahead, the one JavaScript is sending and the one being written.
      if (slabs_.size() < readAhead_ + 2) {
        auto fresh = std::make_unique<Slab>();
        fresh->capacity = std::max(length, maxBatchBytes_);
        fresh->data = static_cast<uint8_t *>(std::malloc(fresh->capacity));
        if (fresh->data != nullptr) {
          *slab = int32_t(slabs_.size());
          slabs_.push_back(std::move(fresh));
          return slabs_.back()->data;
        }
      }
    }
    return static_cast<uint8_t *>(std::malloc(length));
  }

  void freeMessages(std::vector<IpcMessage> &messages) {
    for (IpcMessage &m : messages) {
      if (m.slab >= 0) {
        releaseSlab(m.slab);
      } else {
        std::free(m.body);
      }
    }
    messages.clear();
  }

  /** The body as a Uint8Array over its slab's ArrayBuffer (made once per slab), or null when that fails. */
  napi_value slabBody(napi_env env, const IpcMessage &message) {
    Slab *slab = nullptr;
    {
      std::lock_guard<std::mutex> lock(slabMutex_);
      slab = slabs_[message.slab].get();
    }
    napi_value arrayBuffer = nullptr, body = nullptr;
    if (slab->arrayBuffer == nullptr) {
      if (napi_create_external_arraybuffer(
              env, slab->data, slab->capacity, [](napi_env, void *d, void *) { std::free(d); }, nullptr, &arrayBuffer) != napi_ok ||
          napi_create_reference(env, arrayBuffer, 1, &slab->arrayBuffer) != napi_ok) {
        return nullptr;
      }
    } else {
      napi_get_reference_value(env, slab->arrayBuffer, &arrayBuffer);
    }
    if (napi_create_typedarray(env, napi_uint8_array, message.bodyLength, arrayBuffer, 0, &body) != napi_ok) return nullptr;
    return body;
  }

  void value_set(napi_env env, napi_value array, size_t index, IpcMessage &message) {
    napi_value object = nullptr, header = nullptr, body = nullptr, rows = nullptr, slab = nullptr;
    napi_create_object(env, &object);
    void *copy = nullptr;
    napi_create_buffer_copy(env, message.header.size(), message.header.data(), &copy, &header);
    void *into = nullptr;
    if (message.slab >= 0) {
      body = slabBody(env, message);
      if (body == nullptr) {
        // Runtimes that refuse external memory get a copy, and the slab is free again at once.
        napi_create_buffer_copy(env, message.bodyLength, message.body, &into, &body);
        releaseSlab(message.slab);
        message.slab = -1;
      }
    } else if (napi_create_external_buffer(env, message.bodyLength, message.body, [](napi_env, void *d, void *) { std::free(d); }, nullptr,
                                           &body) != napi_ok) {
      // Runtimes that refuse external buffers get a copy.
      napi_create_buffer_copy(env, message.bodyLength, message.body, &into, &body);
      std::free(message.body);
    }
    message.body = nullptr;  // JavaScript's now, or its slab's
    napi_create_int32(env, message.slab, &slab);
    napi_set_named_property(env, object, "slab", slab);
    napi_create_int64(env, message.rows, &rows);
    napi_set_named_property(env, object, "header", header);
    napi_set_named_property(env, object, "body", body);
    napi_set_named_property(env, object, "rows", rows);
    napi_set_element(env, array, index, object);
  }

  void produce() {
    std::string error;
    if (cancelled_) {
      finish(error);
      return;
    }
    duckdb_result result;
    std::memset(&result, 0, sizeof(result));
    if (duckdb_execute_prepared_streaming(prepared_, &result) != DuckDBSuccess) {
      const char *e = duckdb_result_error(&result);
      error = e ? e : "the query failed";
      duckdb_destroy_result(&result);
      finish(error);
      return;
    }
    duckdb_arrow_options options = duckdb_result_get_arrow_options(&result);
    // The scan runs on the thread that fetches (DuckDB executes the streaming result's pipeline
    // in duckdb_fetch_chunk), so fetching and converting on two threads overlap the two.
    fetcher_ = std::thread([this, &result] { fetch(&result); });
    std::vector<OwnedArray> arrays;  // the arrays the pending pieces point into
    std::vector<Piece> pieces;
    int64_t rows = 0;
    int64_t bytes = 0;  // the pieces' bodies added up: at least the batch's body
    bool ok = true;
    auto flush = [&]() -> bool {
      if (rows == 0) return true;
      std::vector<IpcMessage> messages;
      if (!writer_->write(pieces, &messages, &error)) {
        freeMessages(messages);
        return false;
      }
      pieces.clear();
      rows = 0;
      bytes = 0;
      std::unique_lock<std::mutex> lock(mutex_);
      room_.wait(lock, [&] { return cancelled_ || queue_.size() < readAhead_; });
      if (cancelled_) {
        freeMessages(messages);
        return false;
      }
      queue_.push_back(std::move(messages));
      lock.unlock();
      napi_call_threadsafe_function(wake_, nullptr, napi_tsfn_nonblocking);
      return true;
    };
    while (ok && !cancelled_) {
      duckdb_data_chunk chunk = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        chunkReady_.wait(lock, [&] { return cancelled_ || !chunks_.empty() || fetched_; });
        if (cancelled_) break;
        if (chunks_.empty()) {
          // The fetcher has seen the end of the result, or DuckDB's error.
          error = fetchError_;
          ok = error.empty();
          break;
        }
        chunk = chunks_.front();
        chunks_.pop_front();
        chunkRoom_.notify_one();
      }
      const int64_t size = int64_t(duckdb_data_chunk_get_size(chunk));
      OwnedArray array(new ArrowArray());
      std::memset(array.get(), 0, sizeof(ArrowArray));
      if (direct_) {
        // The array takes the chunk (its release destroys it).
        if (!direct_->convert(chunk, array.get(), &error)) {
          ok = false;
          break;
        }
      } else {
        duckdb_error_data e = duckdb_data_chunk_to_arrow(options, chunk, array.get());
        duckdb_destroy_data_chunk(&chunk);
        if (e != nullptr && duckdb_error_data_has_error(e)) {
          error = takeError(e);
          ok = false;
          break;
        }
        if (e != nullptr) duckdb_destroy_error_data(&e);
      }
      const ArrowArray *current = array.get();
      // Earlier arrays are no longer pointed into once the pieces are written.
      arrays.push_back(std::move(array));
      for (int64_t start = 0; start < size;) {
        const int64_t want = std::min(size - start, batchRows_ - rows);
        int64_t take = want;
        int64_t pieceBytes = writer_->bodyBytes(current, start, take);
        if (bytes + pieceBytes > maxBatchBytes_) {
          // The batch is cut before the piece that would take it past maxBatchBytes, not after:
          // a message over the limit is refused by a client that keeps gRPC's 4 MiB default.
          // The most rows that still fit, by bisection (0 always fits).
          int64_t low = 0, high = want - 1;
          while (low < high) {
            const int64_t middle = (low + high + 1) / 2;
            if (bytes + writer_->bodyBytes(current, start, middle) <= maxBatchBytes_) {
              low = middle;
            } else {
              high = middle - 1;
            }
          }
          take = low;
          if (take == 0 && rows == 0) take = 1;  // a row larger than the limit goes alone
          pieceBytes = take > 0 ? writer_->bodyBytes(current, start, take) : 0;
        }
        if (take > 0) {
          pieces.push_back({current, start, take});
          rows += take;
          bytes += pieceBytes;
          start += take;
        }
        if (rows == batchRows_ || take < want) {
          if (!flush()) {
            ok = false;
            break;
          }
          // All but the current array are written; it may still have rows to come.
          if (arrays.size() > 1) arrays.erase(arrays.begin(), arrays.end() - 1);
        }
      }
    }
    if (ok && !cancelled_) ok = flush();
    {
      // Stopped early or not, the fetcher stops (and drains the result) before it is destroyed.
      std::lock_guard<std::mutex> lock(mutex_);
      stopFetch_ = true;
      chunkRoom_.notify_all();
    }
    fetcher_.join();
    for (duckdb_data_chunk &rest : chunks_) duckdb_destroy_data_chunk(&rest);
    chunks_.clear();
    arrays.clear();
    duckdb_destroy_arrow_options(&options);
    duckdb_destroy_result(&result);
    finish(error);
  }

  /** The fetcher thread: DuckDB's chunks, in order, into `chunks_` (at most kChunksAhead wait). */
  void fetch(duckdb_result *result) {
    std::string error;
    bool ended = false;  // DuckDB said the query is over (no more chunks, or its error)
    for (;;) {
      if (cancelled_) break;
      duckdb_data_chunk chunk = duckdb_fetch_chunk(*result);
      if (chunk == nullptr) {
        ended = true;
        const char *e = duckdb_result_error(result);
        if (e != nullptr && !cancelled_) error = e;
        break;
      }
      if (duckdb_data_chunk_get_size(chunk) == 0) {
        duckdb_destroy_data_chunk(&chunk);
        continue;
      }
      std::unique_lock<std::mutex> lock(mutex_);
      chunkRoom_.wait(lock, [&] { return cancelled_ || stopFetch_ || chunks_.size() < kChunksAhead; });
      if (cancelled_ || stopFetch_) {
        lock.unlock();
        duckdb_destroy_data_chunk(&chunk);
        break;
      }
      chunks_.push_back(chunk);
      chunkReady_.notify_one();
    }
    if (!ended) {
      // Stopped early (closed, cancelled, a conversion error). The query stays active, and its
      // transaction open, until a fetch sees the interrupt: DuckDB first hands out the chunks it
      // buffered ahead. A CHECKPOINT after an abandoned DoGet failed with "other write
      // transactions active" until this fetched to the end (test/reliability/abandoned.test.ts).
      for (;;) {
        duckdb_interrupt(connection_);
        duckdb_data_chunk rest = duckdb_fetch_chunk(*result);
        if (rest == nullptr) break;
        duckdb_destroy_data_chunk(&rest);
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    fetchError_ = error;
    fetched_ = true;
    chunkReady_.notify_all();
  }

  void finish(const std::string &error) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      producerError_ = error;
      finished_ = true;
    }
    napi_call_threadsafe_function(wake_, nullptr, napi_tsfn_nonblocking);
  }

  duckdb_connection connection_;
  std::string sql_;
  const int64_t batchRows_;
  const int64_t maxBatchBytes_;
  const size_t readAhead_;
  const bool reuseBodies_;
  const bool duckdbConverter_;
  std::unique_ptr<ChunkToArrow> direct_;  // null: DuckDB's converter for every chunk
  duckdb_prepared_statement prepared_ = nullptr;
  ArrowSchema schema_{};
  std::unique_ptr<IpcWriter> writer_;
  std::string error_;

  std::thread thread_;
  napi_threadsafe_function wake_ = nullptr;
  std::mutex mutex_;
  std::condition_variable room_;
  std::deque<std::vector<IpcMessage>> queue_;
  bool finished_ = false;
  // Between the fetcher and the converter (under mutex_): DuckDB chunks, and how the result ended.
  static constexpr size_t kChunksAhead = 16;
  std::thread fetcher_;
  std::condition_variable chunkReady_, chunkRoom_;
  std::deque<duckdb_data_chunk> chunks_;
  bool fetched_ = false;
  bool stopFetch_ = false;
  std::string fetchError_;
  // Reused bodies: the producer takes and adds slabs, JavaScript frees them (releaseSlab).
  std::mutex slabMutex_;
  std::vector<std::unique_ptr<Slab>> slabs_;
  std::atomic<bool> cancelled_{false};
  std::string producerError_;
};

// The stream external's type tag, so nextExport cannot be handed anything else.
const napi_type_tag kExportStreamTag = {0x6475636b666c6967ULL, 0x68742d6578706f72ULL};

napi_value metadataObject(napi_env env, const char *metadata) {
  napi_value object = nullptr;
  napi_create_object(env, &object);
  if (metadata == nullptr) return object;
  int32_t count;
  std::memcpy(&count, metadata, 4);
  const char *at = metadata + 4;
  for (int32_t i = 0; i < count; i++) {
    int32_t keyLength, valueLength;
    std::memcpy(&keyLength, at, 4);
    std::string key(at + 4, keyLength);
    at += 4 + keyLength;
    std::memcpy(&valueLength, at, 4);
    napi_value value = nullptr;
    napi_create_string_utf8(env, at + 4, valueLength, &value);
    at += 4 + valueLength;
    napi_set_named_property(env, object, key.c_str(), value);
  }
  return object;
}

napi_value fieldObject(napi_env env, const ArrowSchema &schema) {
  napi_value object = nullptr, children = nullptr, dictionary = nullptr, nullable = nullptr;
  napi_create_object(env, &object);
  napi_set_named_property(env, object, "name", makeString(env, schema.name ? schema.name : ""));
  napi_set_named_property(env, object, "format", makeString(env, schema.format));
  napi_get_boolean(env, (schema.flags & ARROW_FLAG_NULLABLE) != 0, &nullable);
  napi_set_named_property(env, object, "nullable", nullable);
  napi_set_named_property(env, object, "metadata", metadataObject(env, schema.metadata));
  napi_create_array_with_length(env, schema.n_children, &children);
  for (int64_t c = 0; c < schema.n_children; c++) napi_set_element(env, children, c, fieldObject(env, *schema.children[c]));
  napi_set_named_property(env, object, "children", children);
  if (schema.dictionary) {
    dictionary = fieldObject(env, *schema.dictionary);
    napi_value ordered = nullptr;
    napi_get_boolean(env, (schema.flags & ARROW_FLAG_DICTIONARY_ORDERED) != 0, &ordered);
    napi_set_named_property(env, object, "dictionaryOrdered", ordered);
  } else {
    napi_get_null(env, &dictionary);
  }
  napi_set_named_property(env, object, "dictionary", dictionary);
  return object;
}

ExportStream *streamArg(napi_env env, napi_value value) {
  bool tagged = false;
  napi_valuetype type = napi_undefined;
  napi_typeof(env, value, &type);
  if (type != napi_external || napi_check_object_type_tag(env, value, &kExportStreamTag, &tagged) != napi_ok || !tagged) {
    napi_throw_type_error(env, nullptr, "expected an export stream from openExport()");
    return nullptr;
  }
  void *data = nullptr;
  napi_get_value_external(env, value, &data);
  return static_cast<ExportStream *>(data);
}

void onWake(napi_env env, napi_value, void *context, void *) {
  auto *stream = static_cast<ExportStream *>(context);
  if (env == nullptr || stream->pending == nullptr) return;
  if (stream->settle(env, stream->pending)) {
    stream->pending = nullptr;
    napi_unref_threadsafe_function(env, stream->wake());
  }
}

void finalizeStream(napi_env env, void *data, void *) {
  auto *stream = static_cast<ExportStream *>(data);
  // A stream dropped without closeExport: stop the query here (this blocks until DuckDB stops).
  napi_threadsafe_function wake = stream->wake();
  stream->stopAndJoin();
  if (wake && !stream->closing) napi_release_threadsafe_function(wake, napi_tsfn_abort);
  stream->dropSlabs(env);
  delete stream;
}

// --- openExport ---

/** options[name] when it is a boolean, left as it is when undefined; false (a TypeError thrown) otherwise. */
bool optionalBool(napi_env env, napi_value options, const char *name, bool *out) {
  napi_value value = nullptr;
  napi_valuetype type = napi_undefined;
  napi_get_named_property(env, options, name, &value);
  napi_typeof(env, value, &type);
  if (type == napi_undefined) return true;
  if (napi_get_value_bool(env, value, out) == napi_ok) return true;
  napi_throw_type_error(env, nullptr, (std::string(name) + " must be a boolean").c_str());
  return false;
}

struct OpenWork {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  ExportStream *stream = nullptr;
  bool ok = false;
};

napi_value openExport(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK_OR_RETURN(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 3) return throwError(env, "openExport(connection, sql, { batchRows, maxBatchBytes, readAhead })");
  duckdb_connection connection = connectionFromExternal(env, argv[0]);
  if (connection == nullptr) return nullptr;
  std::string sql;
  if (!stringArg(env, argv[1], "sql", &sql)) return nullptr;
  int64_t batchRows = 0, maxBatchBytes = 0, readAhead = 0;
  bool reuseBodies = false, duckdbConverter = false;
  napi_value v = nullptr;
  napi_get_named_property(env, argv[2], "batchRows", &v);
  if (!int64Arg(env, v, "batchRows", &batchRows)) return nullptr;
  napi_get_named_property(env, argv[2], "maxBatchBytes", &v);
  if (!int64Arg(env, v, "maxBatchBytes", &maxBatchBytes)) return nullptr;
  napi_get_named_property(env, argv[2], "readAhead", &v);
  if (!int64Arg(env, v, "readAhead", &readAhead)) return nullptr;
  if (!optionalBool(env, argv[2], "reuseBodies", &reuseBodies) || !optionalBool(env, argv[2], "duckdbConverter", &duckdbConverter)) {
    return nullptr;
  }
  if (batchRows < 1 || maxBatchBytes < 1 || readAhead < 1) return throwError(env, "batchRows, maxBatchBytes and readAhead must be positive");

  auto *work = new OpenWork();
  work->stream = new ExportStream(connection, std::move(sql), batchRows, maxBatchBytes, size_t(readAhead), reuseBodies, duckdbConverter);
  napi_value promise = nullptr, name = makeString(env, "duckFlightOpenExport");
  napi_create_promise(env, &work->deferred, &promise);
  napi_create_async_work(
      env, nullptr, name, [](napi_env, void *data) { auto *w = static_cast<OpenWork *>(data); w->ok = w->stream->prepare(); },
      [](napi_env env, napi_status, void *data) {
        auto *w = static_cast<OpenWork *>(data);
        if (!w->ok) {
          napi_value message = makeString(env, w->stream->openError()), error = nullptr;
          napi_create_error(env, nullptr, message, &error);
          napi_reject_deferred(env, w->deferred, error);
          delete w->stream;
        } else {
          napi_value external = nullptr, result = nullptr, fields = nullptr, name = makeString(env, "duckFlightExportWake");
          napi_threadsafe_function wake = nullptr;
          napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, w->stream, onWake, &wake);
          napi_unref_threadsafe_function(env, wake);
          napi_create_external(env, w->stream, finalizeStream, nullptr, &external);
          napi_type_tag_object(env, external, &kExportStreamTag);
          const ArrowSchema &schema = w->stream->schema();
          napi_create_array_with_length(env, schema.n_children, &fields);
          for (int64_t c = 0; c < schema.n_children; c++) napi_set_element(env, fields, c, fieldObject(env, *schema.children[c]));
          napi_create_object(env, &result);
          napi_set_named_property(env, result, "stream", external);
          napi_set_named_property(env, result, "fields", fields);
          napi_set_named_property(env, result, "converter", makeString(env, w->stream->direct() ? "direct" : "duckdb"));
          w->stream->start(wake);
          napi_resolve_deferred(env, w->deferred, result);
        }
        napi_delete_async_work(env, w->work);
        delete w;
      },
      work, &work->work);
  napi_queue_async_work(env, work->work);
  return promise;
}

/**
 * A call's first `count` arguments into argv (undefined where the caller passed fewer) and the
 * export stream the first holds; null, with a TypeError thrown, when it holds none.
 */
ExportStream *streamCall(napi_env env, napi_callback_info info, size_t count, napi_value *argv) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) {
    napi_throw_error(env, nullptr, "could not read the call's arguments");
    return nullptr;
  }
  return streamArg(env, argv[0]);
}

napi_value nextExport(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  ExportStream *stream = streamCall(env, info, 1, argv);
  if (stream == nullptr) return nullptr;
  if (stream->pending != nullptr) return throwError(env, "nextExport: the previous call has not settled yet");
  if (stream->closing) return throwError(env, "nextExport: the stream is closed");
  napi_value promise = nullptr;
  napi_deferred deferred = nullptr;
  napi_create_promise(env, &deferred, &promise);
  if (!stream->settle(env, deferred)) {
    stream->pending = deferred;
    // Keep the process alive while JavaScript waits for the producer.
    napi_ref_threadsafe_function(env, stream->wake());
  }
  return promise;
}

struct CloseWork {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  ExportStream *stream = nullptr;
  napi_ref keep = nullptr;
};

napi_value closeExport(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  ExportStream *stream = streamCall(env, info, 1, argv);
  if (stream == nullptr) return nullptr;
  napi_value promise = nullptr, name = makeString(env, "duckFlightCloseExport");
  auto *work = new CloseWork();
  work->stream = stream;
  napi_create_promise(env, &work->deferred, &promise);
  if (stream->closing) {
    // Already closing or closed: the stream's thread is joined by the first close.
    napi_value undefined = nullptr;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, work->deferred, undefined);
    delete work;
    return promise;
  }
  stream->closing = true;
  stream->cancel();
  // The external stays alive until the join is done.
  napi_create_reference(env, argv[0], 1, &work->keep);
  napi_create_async_work(
      env, nullptr, name, [](napi_env, void *data) { static_cast<CloseWork *>(data)->stream->stopAndJoin(); },
      [](napi_env env, napi_status, void *data) {
        auto *w = static_cast<CloseWork *>(data);
        ExportStream *s = w->stream;
        if (s->pending != nullptr) {
          napi_value null = nullptr;
          napi_get_null(env, &null);
          napi_resolve_deferred(env, s->pending, null);
          s->pending = nullptr;
        }
        napi_release_threadsafe_function(s->wake(), napi_tsfn_release);
        s->dropSlabs(env);
        napi_value undefined = nullptr;
        napi_get_undefined(env, &undefined);
        napi_resolve_deferred(env, w->deferred, undefined);
        napi_delete_reference(env, w->keep);
        napi_delete_async_work(env, w->work);
        delete w;
      },
      work, &work->work);
  napi_queue_async_work(env, work->work);
  return promise;
}

napi_value releaseExportBody(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  ExportStream *stream = streamCall(env, info, 2, argv);
  if (stream == nullptr) return nullptr;
  int64_t slab = -1;
  if (!int64Arg(env, argv[1], "slab", &slab)) return nullptr;
  stream->releaseSlab(slab);
  return nullptr;
}

}  // namespace

bool registerExport(napi_env env, napi_value exports) {
  return exportFunction(env, exports, "openExport", openExport) && exportFunction(env, exports, "nextExport", nextExport) &&
         exportFunction(env, exports, "releaseExportBody", releaseExportBody) && exportFunction(env, exports, "closeExport", closeExport);
}

}  // namespace duckflight
