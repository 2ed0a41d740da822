// Import: record batches received by DoPut (their bodies still in the Buffers the Flight decoder
// holds, every offset and length already verified in JavaScript) go into DuckDB off the
// JavaScript thread. The batches are ArrowArrays pointing into those Buffers, queued (bounded)
// for a thread of the stream's own, which either converts them 2048 rows at a time with
// duckdb_data_chunk_from_arrow into an appender (the default: it measured faster), or runs
// `INSERT INTO t SELECT * FROM view` over a view of an ArrowArrayStream that DuckDB's threads pull
// from (get_next, called from any of them). A batch's Buffers stay referenced until DuckDB is
// done with its ArrowArray; the references are dropped on the JavaScript thread, at the next push
// or at close.
#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "addon.h"
#include "duckdb_c_api_import.h"
#include "napi_util.h"
#include "shared_connection.h"

namespace duckflight {
namespace {

// ---- schema: the NativeField tree JavaScript describes -> ArrowSchema ----

struct SchemaNode {
  std::string format;
  std::string name;
  std::string metadata;  // the C data interface's encoding; empty for none
  std::vector<std::unique_ptr<SchemaNode>> children;
  std::vector<ArrowSchema *> childPointers;
  std::unique_ptr<SchemaNode> dictionary;
  ArrowSchema schema{};
};

// DuckDB copies the root schema and never releases what it did not allocate (duckdb_arrow_scan
// clears the release callbacks it sees); every node is owned here.
void keepSchema(ArrowSchema *schema) { schema->release = nullptr; }

bool property(napi_env env, napi_value object, const char *name, napi_value *out) {
  return napi_get_named_property(env, object, name, out) == napi_ok;
}

void appendInt32(std::string *out, int32_t value) { out->append(reinterpret_cast<const char *>(&value), sizeof value); }

std::unique_ptr<SchemaNode> buildSchema(napi_env env, napi_value field, int depth) {
  if (depth > 64) {
    napi_throw_range_error(env, nullptr, "import: the schema nests deeper than 64 levels");
    return nullptr;
  }
  auto node = std::make_unique<SchemaNode>();
  napi_value value = nullptr;
  if (!property(env, field, "name", &value) || !stringArg(env, value, "field.name", &node->name)) return nullptr;
  if (!property(env, field, "format", &value) || !stringArg(env, value, "field.format", &node->format)) return nullptr;
  bool nullable = true;
  if (!property(env, field, "nullable", &value) || napi_get_value_bool(env, value, &nullable) != napi_ok) {
    napi_throw_type_error(env, nullptr, "field.nullable must be a boolean");
    return nullptr;
  }
  napi_value metadata = nullptr, keys = nullptr;
  uint32_t keyCount = 0;
  if (!property(env, field, "metadata", &metadata) || napi_get_property_names(env, metadata, &keys) != napi_ok ||
      napi_get_array_length(env, keys, &keyCount) != napi_ok) {
    napi_throw_type_error(env, nullptr, "field.metadata must be an object of strings");
    return nullptr;
  }
  if (keyCount > 0) {
    appendInt32(&node->metadata, static_cast<int32_t>(keyCount));
    for (uint32_t i = 0; i < keyCount; i++) {
      napi_value key = nullptr, entry = nullptr;
      std::string keyText, valueText;
      if (napi_get_element(env, keys, i, &key) != napi_ok || !stringArg(env, key, "a metadata key", &keyText) ||
          napi_get_property(env, metadata, key, &entry) != napi_ok || !stringArg(env, entry, "a metadata value", &valueText)) {
        return nullptr;
      }
      appendInt32(&node->metadata, static_cast<int32_t>(keyText.size()));
      node->metadata += keyText;
      appendInt32(&node->metadata, static_cast<int32_t>(valueText.size()));
      node->metadata += valueText;
    }
  }
  napi_value children = nullptr;
  uint32_t childCount = 0;
  if (!property(env, field, "children", &children) || napi_get_array_length(env, children, &childCount) != napi_ok) {
    napi_throw_type_error(env, nullptr, "field.children must be an array");
    return nullptr;
  }
  for (uint32_t i = 0; i < childCount; i++) {
    napi_value child = nullptr;
    if (napi_get_element(env, children, i, &child) != napi_ok) return nullptr;
    auto built = buildSchema(env, child, depth + 1);
    if (!built) return nullptr;
    node->childPointers.push_back(&built->schema);
    node->children.push_back(std::move(built));
  }
  napi_value dictionary = nullptr;
  napi_valuetype dictionaryType = napi_undefined;
  if (!property(env, field, "dictionary", &dictionary) || napi_typeof(env, dictionary, &dictionaryType) != napi_ok) return nullptr;
  if (dictionaryType == napi_object) {
    node->dictionary = buildSchema(env, dictionary, depth + 1);
    if (!node->dictionary) return nullptr;
  }
  ArrowSchema &schema = node->schema;
  schema.format = node->format.c_str();
  schema.name = node->name.c_str();
  schema.metadata = node->metadata.empty() ? nullptr : node->metadata.data();
  schema.flags = nullable ? ARROW_FLAG_NULLABLE : 0;
  schema.n_children = static_cast<int64_t>(node->children.size());
  schema.children = node->childPointers.empty() ? nullptr : node->childPointers.data();
  schema.dictionary = node->dictionary ? &node->dictionary->schema : nullptr;
  schema.release = keepSchema;
  return node;
}

// ---- batches: JavaScript's node descriptions -> ArrowArrays over its Buffers ----

struct ImportStream;

struct Batch {
  std::vector<std::unique_ptr<ArrowArray>> nodes;  // nodes[0] is the root (the record batch)
  std::vector<std::unique_ptr<const void *[]>> buffers;
  std::vector<std::unique_ptr<ArrowArray *[]>> children;
  napi_ref keep = nullptr;  // the description, which holds the Buffers the pointers point into
  ImportStream *stream = nullptr;
};

// Children are released with their root (the specification allows moving a child out; DuckDB
// does not, and nothing here would be freed by it).
void releaseChild(ArrowArray *array) { array->release = nullptr; }

/**
 * One node from [length, nullCount, offset, buffers, children, dictionary]: buffers are typed
 * arrays (or null) over the received bytes, in the C data interface's order for the type.
 */
ArrowArray *buildArray(napi_env env, napi_value description, Batch *batch, int depth) {
  if (depth > 64) {
    napi_throw_range_error(env, nullptr, "import: a batch nests deeper than 64 levels");
    return nullptr;
  }
  napi_value items[6];
  for (uint32_t i = 0; i < 6; i++) {
    if (napi_get_element(env, description, i, &items[i]) != napi_ok) return nullptr;
  }
  auto array = std::make_unique<ArrowArray>();
  if (!int64Arg(env, items[0], "node length", &array->length) || !int64Arg(env, items[1], "node null count", &array->null_count) ||
      !int64Arg(env, items[2], "node offset", &array->offset)) {
    return nullptr;
  }
  uint32_t bufferCount = 0, childCount = 0;
  if (napi_get_array_length(env, items[3], &bufferCount) != napi_ok || napi_get_array_length(env, items[4], &childCount) != napi_ok) {
    napi_throw_type_error(env, nullptr, "node buffers and children must be arrays");
    return nullptr;
  }
  auto buffers = std::make_unique<const void *[]>(bufferCount + 1);
  for (uint32_t i = 0; i < bufferCount; i++) {
    napi_value buffer = nullptr;
    napi_valuetype type = napi_undefined;
    if (napi_get_element(env, items[3], i, &buffer) != napi_ok || napi_typeof(env, buffer, &type) != napi_ok) return nullptr;
    buffers[i] = nullptr;
    if (type == napi_null) continue;
    bool typed = false;
    napi_is_typedarray(env, buffer, &typed);
    if (!typed) {
      napi_throw_type_error(env, nullptr, "a node buffer must be a typed array or null");
      return nullptr;
    }
    void *data = nullptr;
    size_t length = 0;
    if (napi_get_typedarray_info(env, buffer, nullptr, &length, &data, nullptr, nullptr) != napi_ok) return nullptr;
    buffers[i] = data;
  }
  auto childPointers = std::make_unique<ArrowArray *[]>(childCount + 1);
  for (uint32_t i = 0; i < childCount; i++) {
    napi_value child = nullptr;
    if (napi_get_element(env, items[4], i, &child) != napi_ok) return nullptr;
    childPointers[i] = buildArray(env, child, batch, depth + 1);
    if (childPointers[i] == nullptr) return nullptr;
  }
  napi_valuetype dictionaryType = napi_undefined;
  napi_typeof(env, items[5], &dictionaryType);
  if (dictionaryType == napi_object) {
    array->dictionary = buildArray(env, items[5], batch, depth + 1);
    if (array->dictionary == nullptr) return nullptr;
  }
  array->n_buffers = bufferCount;
  array->buffers = buffers.get();
  array->n_children = childCount;
  array->children = childCount > 0 ? childPointers.get() : nullptr;
  array->release = releaseChild;
  array->private_data = nullptr;
  batch->buffers.push_back(std::move(buffers));
  batch->children.push_back(std::move(childPointers));
  batch->nodes.push_back(std::move(array));
  return batch->nodes.back().get();
}

// ---- the stream ----

struct Event {
  bool done;
  std::string error;
};

struct ImportStream {
  duckdb_connection connection = nullptr;
  std::string view;
  std::string insertSql;
  // The other way in, measured against the scan: data chunks through an appender on this table.
  bool appenderMode = false;
  std::string catalog, schemaName, table;
  std::unique_ptr<SchemaNode> schema;
  ArrowArrayStream stream{};
  size_t capacity = 4;

  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Batch *> queue;        // pushed, not yet taken by DuckDB
  std::vector<Batch *> released;    // released by DuckDB, references still to drop
  size_t outstanding = 0;           // taken by DuckDB, not yet released
  bool finished = false;            // JavaScript pushed its last batch
  bool aborted = false;
  bool done = false;                // the INSERT returned
  std::string abortMessage;

  std::thread worker;
  napi_threadsafe_function events = nullptr;
  bool closed = false;
};

void emit(ImportStream *self, bool done, std::string error) {
  napi_call_threadsafe_function(self->events, new Event{done, std::move(error)}, napi_tsfn_blocking);
}

void releaseBatch(ArrowArray *array) {
  auto *batch = static_cast<Batch *>(array->private_data);
  array->release = nullptr;
  ImportStream *self = batch->stream;
  std::lock_guard<std::mutex> lock(self->mutex);
  self->outstanding--;
  self->released.push_back(batch);
}

int getSchema(ArrowArrayStream *stream, ArrowSchema *out) {
  auto *self = static_cast<ImportStream *>(stream->private_data);
  *out = self->schema->schema;
  return 0;
}

int getNext(ArrowArrayStream *stream, ArrowArray *out) {
  auto *self = static_cast<ImportStream *>(stream->private_data);
  std::unique_lock<std::mutex> lock(self->mutex);
  self->changed.wait(lock, [self] { return self->aborted || self->finished || !self->queue.empty(); });
  if (self->aborted) return EIO;
  if (self->queue.empty()) {
    std::memset(out, 0, sizeof *out);  // end of stream: release == nullptr
    return 0;
  }
  Batch *batch = self->queue.front();
  bool wasFull = self->queue.size() >= self->capacity;
  self->queue.pop_front();
  self->outstanding++;
  *out = *batch->nodes[0];
  out->private_data = batch;
  out->release = releaseBatch;
  lock.unlock();
  if (wasFull) emit(self, false, "");
  return 0;
}

const char *getLastError(ArrowArrayStream *stream) {
  auto *self = static_cast<ImportStream *>(stream->private_data);
  return self->abortMessage.c_str();
}

void releaseStream(ArrowArrayStream *stream) { stream->release = nullptr; }

std::string quoted(const std::string &identifier) {
  std::string out = "\"";
  for (char c : identifier) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

void noRelease(ArrowArray *array) { array->release = nullptr; }

/** Takes the next batch off the queue on this thread; null at the end or on abort. */
Batch *takeBatch(ImportStream *self) {
  std::unique_lock<std::mutex> lock(self->mutex);
  self->changed.wait(lock, [self] { return self->aborted || self->finished || !self->queue.empty(); });
  if (self->aborted || self->queue.empty()) return nullptr;
  Batch *batch = self->queue.front();
  bool wasFull = self->queue.size() >= self->capacity;
  self->queue.pop_front();
  lock.unlock();
  if (wasFull) emit(self, false, "");
  return batch;
}

std::string takeError(duckdb_error_data error) {
  std::string message = duckdb_error_data_message(error);
  duckdb_destroy_error_data(&error);
  return message;
}

/** Every batch, 2048 rows at a time, through duckdb_data_chunk_from_arrow into an appender. */
std::string appendChunks(ImportStream *self) {
  duckdb_arrow_converted_schema converted = nullptr;
  ArrowSchema schema = self->schema->schema;
  duckdb_error_data failure = duckdb_schema_from_arrow(self->connection, &schema, &converted);
  if (failure != nullptr) return takeError(failure);
  duckdb_appender appender = nullptr;
  std::string error;
  if (duckdb_appender_create_ext(self->connection, self->catalog.c_str(), self->schemaName.c_str(), self->table.c_str(), &appender) !=
      DuckDBSuccess) {
    error = duckdb_appender_error(appender);
  }
  std::vector<ArrowArray> columns;
  std::vector<ArrowArray *> columnPointers;
  while (error.empty()) {
    Batch *batch = takeBatch(self);
    if (batch == nullptr) break;
    const ArrowArray &root = *batch->nodes[0];
    columns.assign(root.n_children, ArrowArray{});
    columnPointers.resize(root.n_children);
    for (int64_t start = 0; start < root.length && error.empty(); start += 2048) {
      int64_t count = root.length - start < 2048 ? root.length - start : 2048;
      for (int64_t c = 0; c < root.n_children; c++) {
        columns[c] = *root.children[c];
        columns[c].offset += start;
        columns[c].length = count;
        columns[c].release = noRelease;
        columnPointers[c] = &columns[c];
      }
      ArrowArray slice = root;
      slice.length = count;
      slice.children = columnPointers.data();
      slice.release = noRelease;
      duckdb_data_chunk chunk = nullptr;
      failure = duckdb_data_chunk_from_arrow(self->connection, &slice, converted, &chunk);
      if (failure != nullptr) {
        error = takeError(failure);
      } else if (duckdb_append_data_chunk(appender, chunk) != DuckDBSuccess) {
        error = duckdb_appender_error(appender);
      }
      if (chunk != nullptr) duckdb_destroy_data_chunk(&chunk);
    }
    std::lock_guard<std::mutex> lock(self->mutex);
    self->released.push_back(batch);
  }
  {
    std::lock_guard<std::mutex> lock(self->mutex);
    if (error.empty() && self->aborted) error = self->abortMessage;
  }
  if (appender != nullptr) {
    if (error.empty() && duckdb_appender_close(appender) != DuckDBSuccess) error = duckdb_appender_error(appender);
    duckdb_appender_destroy(&appender);
  }
  duckdb_destroy_arrow_converted_schema(&converted);
  return error;
}

void run(ImportStream *self) {
  std::string error;
  if (self->appenderMode) {
    error = appendChunks(self);
  } else if (duckdb_arrow_scan(self->connection, self->view.c_str(), reinterpret_cast<duckdb_arrow_stream>(&self->stream)) != DuckDBSuccess) {
    error = "DuckDB refused the Arrow schema of the upload";
  } else {
    duckdb_result result;
    if (duckdb_query(self->connection, self->insertSql.c_str(), &result) != DuckDBSuccess) {
      const char *message = duckdb_result_error(&result);
      error = message != nullptr ? message : "the INSERT failed";
    }
    duckdb_destroy_result(&result);
    // After a failure the transaction is aborted and the ROLLBACK that follows removes the view.
    if (error.empty()) {
      duckdb_result drop;
      if (duckdb_query(self->connection, ("DROP VIEW " + quoted(self->view)).c_str(), &drop) != DuckDBSuccess) {
        const char *message = duckdb_result_error(&drop);
        error = message != nullptr ? message : "DROP VIEW failed";
      }
      duckdb_destroy_result(&drop);
    }
  }
  {
    std::lock_guard<std::mutex> lock(self->mutex);
    self->done = true;
  }
  emit(self, true, error);
  napi_release_threadsafe_function(self->events, napi_tsfn_release);
}

void callEvent(napi_env env, napi_value callback, void *, void *data) {
  std::unique_ptr<Event> event(static_cast<Event *>(data));
  if (env == nullptr || callback == nullptr) return;
  napi_value args[2], global = nullptr;
  napi_get_global(env, &global);
  napi_get_boolean(env, event->done, &args[0]);
  if (event->error.empty()) {
    napi_get_null(env, &args[1]);
  } else {
    args[1] = makeString(env, event->error);
  }
  napi_call_function(env, global, callback, 2, args, nullptr);
}

void freeBatch(napi_env env, Batch *batch) {
  if (batch->keep != nullptr) napi_delete_reference(env, batch->keep);
  delete batch;
}

/** Drops the references of the batches DuckDB has released. */
void dropReleased(napi_env env, ImportStream *self) {
  std::vector<Batch *> released;
  {
    std::lock_guard<std::mutex> lock(self->mutex);
    released.swap(self->released);
  }
  for (Batch *batch : released) freeBatch(env, batch);
}

void abortStream(ImportStream *self, const std::string &message) {
  {
    std::lock_guard<std::mutex> lock(self->mutex);
    if (self->aborted || self->done) return;
    self->aborted = true;
    self->abortMessage = message;
  }
  self->changed.notify_all();
  duckdb_interrupt(self->connection);
}

/** Waits for the INSERT, then frees every batch; a batch DuckDB never released is left alone. */
void closeStream(napi_env env, ImportStream *self) {
  if (self->closed) return;
  self->closed = true;
  abortStream(self, "the upload was closed before it finished");
  if (self->worker.joinable()) self->worker.join();
  dropReleased(env, self);
  for (Batch *batch : self->queue) freeBatch(env, batch);
  self->queue.clear();
}

void finalizeStream(napi_env env, void *data, void *) {
  auto *self = static_cast<ImportStream *>(data);
  closeStream(env, self);
  if (self->outstanding == 0) delete self;
}

ImportStream *streamArg(napi_env env, napi_value value) {
  void *data = nullptr;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == nullptr) {
    napi_throw_type_error(env, nullptr, "not an import stream");
    return nullptr;
  }
  auto *self = static_cast<ImportStream *>(data);
  if (self->closed) {
    napi_throw_error(env, nullptr, "import: the stream is closed");
    return nullptr;
  }
  return self;
}

/**
 * openImport(connection, fields, view, insertSql, capacity, onEvent): starts
 * `insertSql` (which reads the view `view`) on a thread of its own; onEvent(done, error) says
 * when the queue has room again (done false) and when the INSERT returned (done true).
 */
napi_value openImport(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  NAPI_OK_OR_RETURN(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 6) return throwError(env, "openImport(connection, fields, view, insertSql, capacity, onEvent[, appendTo])");
  duckdb_connection connection = connectionFromExternal(env, argv[0]);
  if (connection == nullptr) return nullptr;
  auto self = std::make_unique<ImportStream>();
  self->connection = connection;
  self->schema = std::make_unique<SchemaNode>();
  self->schema->format = "+s";
  uint32_t fieldCount = 0;
  if (napi_get_array_length(env, argv[1], &fieldCount) != napi_ok || fieldCount == 0) {
    napi_throw_type_error(env, nullptr, "fields must be a non-empty array");
    return nullptr;
  }
  for (uint32_t i = 0; i < fieldCount; i++) {
    napi_value field = nullptr;
    if (napi_get_element(env, argv[1], i, &field) != napi_ok) return nullptr;
    auto built = buildSchema(env, field, 1);
    if (!built) return nullptr;
    self->schema->childPointers.push_back(&built->schema);
    self->schema->children.push_back(std::move(built));
  }
  ArrowSchema &root = self->schema->schema;
  root.format = self->schema->format.c_str();
  root.name = self->schema->name.c_str();
  root.n_children = fieldCount;
  root.children = self->schema->childPointers.data();
  root.release = keepSchema;
  int64_t capacity = 0;
  if (!stringArg(env, argv[2], "view", &self->view) || !stringArg(env, argv[3], "insertSql", &self->insertSql) ||
      !int64Arg(env, argv[4], "capacity", &capacity)) {
    return nullptr;
  }
  self->capacity = capacity < 1 ? 1 : static_cast<size_t>(capacity);
  napi_valuetype appendTo = napi_undefined;
  if (argc > 6) napi_typeof(env, argv[6], &appendTo);
  if (appendTo == napi_object) {
    napi_value part = nullptr;
    self->appenderMode = true;
    if (!property(env, argv[6], "catalog", &part) || !stringArg(env, part, "appendTo.catalog", &self->catalog) ||
        !property(env, argv[6], "schema", &part) || !stringArg(env, part, "appendTo.schema", &self->schemaName) ||
        !property(env, argv[6], "table", &part) || !stringArg(env, part, "appendTo.table", &self->table)) {
      return nullptr;
    }
  }
  self->stream.get_schema = getSchema;
  self->stream.get_next = getNext;
  self->stream.get_last_error = getLastError;
  self->stream.release = releaseStream;
  self->stream.private_data = self.get();
  napi_value name = makeString(env, "duck-flight import");
  NAPI_OK_OR_RETURN(env, napi_create_threadsafe_function(env, argv[5], nullptr, name, 0, 1, nullptr, nullptr, nullptr, callEvent,
                                                         &self->events));
  napi_value external = nullptr;
  if (napi_create_external(env, self.get(), finalizeStream, nullptr, &external) != napi_ok) {
    napi_release_threadsafe_function(self->events, napi_tsfn_abort);
    return throwError(env, "import: could not create the stream handle");
  }
  ImportStream *stream = self.release();
  stream->worker = std::thread(run, stream);
  return external;
}

/**
 * pushImport(stream, root): queues one record batch (its root node description, whose buffers
 * the stream references until DuckDB releases the batch). Returns false when the queue is full
 * or the INSERT has already returned: wait for the next event before pushing again.
 */
napi_value pushImport(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK_OR_RETURN(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  ImportStream *self = argc < 2 ? nullptr : streamArg(env, argv[0]);
  if (self == nullptr) return nullptr;
  dropReleased(env, self);
  auto batch = std::make_unique<Batch>();
  batch->stream = self;
  if (buildArray(env, argv[1], batch.get(), 0) == nullptr) return nullptr;
  // buildArray appends children before their parent: the root is the last node built.
  std::rotate(batch->nodes.begin(), batch->nodes.end() - 1, batch->nodes.end());
  NAPI_OK_OR_RETURN(env, napi_create_reference(env, argv[1], 1, &batch->keep));
  bool room = false;
  {
    std::lock_guard<std::mutex> lock(self->mutex);
    if (!self->done && !self->aborted && !self->finished) {
      self->queue.push_back(batch.release());
      room = self->queue.size() < self->capacity;
    }
  }
  if (batch) {
    freeBatch(env, batch.release());
  } else {
    self->changed.notify_all();
  }
  napi_value result = nullptr;
  napi_get_boolean(env, room, &result);
  return result;
}

/** finishImport(stream): no more batches; the INSERT ends when DuckDB has taken the queued ones. */
napi_value finishImport(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK_OR_RETURN(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  ImportStream *self = argc < 1 ? nullptr : streamArg(env, argv[0]);
  if (self == nullptr) return nullptr;
  {
    std::lock_guard<std::mutex> lock(self->mutex);
    self->finished = true;
  }
  self->changed.notify_all();
  return nullptr;
}

/** abortImport(stream, message): the INSERT fails with `message` (DuckDB is interrupted). */
napi_value abortImport(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK_OR_RETURN(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  ImportStream *self = argc < 2 ? nullptr : streamArg(env, argv[0]);
  std::string message;
  if (self == nullptr || !stringArg(env, argv[1], "message", &message)) return nullptr;
  abortStream(self, message);
  return nullptr;
}

/** closeImport(stream): after the done event; waits for the thread and drops every reference. */
napi_value closeImport(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK_OR_RETURN(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  ImportStream *self = argc < 1 ? nullptr : streamArg(env, argv[0]);
  if (self == nullptr) return nullptr;
  closeStream(env, self);
  return nullptr;
}

}  // namespace

bool registerImport(napi_env env, napi_value exports) {
  return exportFunction(env, exports, "openImport", openImport) && exportFunction(env, exports, "pushImport", pushImport) &&
         exportFunction(env, exports, "finishImport", finishImport) && exportFunction(env, exports, "abortImport", abortImport) &&
         exportFunction(env, exports, "closeImport", closeImport);
}

}  // namespace duckflight
