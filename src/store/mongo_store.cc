#include "store/mongo_store.h"

#include <mongoc/mongoc.h>

// bson_t carries an alignment attribute that unique_ptr and vector ignore; harmless here.
#pragma GCC diagnostic ignored "-Wignored-attributes"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>

namespace inferd::store {
namespace {

constexpr int32_t kServerSelectionTimeoutMs = 5000;
constexpr int32_t kDuplicateKey = 11000;
constexpr char kBlobs[] = "blobs";
constexpr char kBlobChunks[] = "blob_chunks";
constexpr char kRevisionClaims[] = "revision_claims";
// U+10FFFF: sorts after every UTF-8 string that starts with a given prefix.
constexpr char kMaxCodePoint[] = "\xf4\x8f\xbf\xbf";

struct BsonFree {
  void operator()(bson_t* b) const { bson_destroy(b); }
};
using Bson = std::unique_ptr<bson_t, BsonFree>;

Bson NewBson() { return Bson(bson_new()); }

constexpr uint32_t kAuthenticationFailed = 18;

// One line: server messages may hold newlines.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

Status MongoError(const std::string& what, const bson_error_t& error) {
  const bool auth = (error.domain == MONGOC_ERROR_CLIENT &&
                     error.code == MONGOC_ERROR_CLIENT_AUTHENTICATE) ||
                    error.code == kAuthenticationFailed;
  return Unavailable(auth ? "MongoDB refused the credentials: " + OneLine(error.message)
                          : "MongoDB " + what + ": " + OneLine(error.message));
}

StatusOr<Bson> ParseJson(std::string_view json) {
  bson_error_t error;
  Bson fields(bson_new_from_json(reinterpret_cast<const uint8_t*>(json.data()),
                                 static_cast<ssize_t>(json.size()), &error));
  if (!fields) return InvalidArgument(std::string("document is not valid JSON: ") + error.message);
  return fields;
}

// Builds {_id: id, ...fields of json}.
StatusOr<Bson> ToBson(std::string_view id, std::string_view json) {
  ASSIGN_OR_RETURN(Bson fields, ParseJson(json));
  Bson doc = NewBson();
  bson_append_utf8(doc.get(), "_id", 3, id.data(), static_cast<int>(id.size()));
  bson_concat(doc.get(), fields.get());
  return doc;
}

// Builds {_id: id, ...fields of json but its revision, revision: revision}.
StatusOr<Bson> ToBsonAtRevision(std::string_view id, std::string_view json, int64_t revision) {
  ASSIGN_OR_RETURN(Bson fields, ParseJson(json));
  Bson doc = NewBson();
  bson_append_utf8(doc.get(), "_id", 3, id.data(), static_cast<int>(id.size()));
  bson_copy_to_excluding_noinit(fields.get(), doc.get(), "_id", kRevisionField, nullptr);
  BSON_APPEND_INT64(doc.get(), kRevisionField, revision);
  return doc;
}

// The document as relaxed extended JSON, without its _id.
std::string ToJson(const bson_t* doc) {
  bson_t copy;
  bson_init(&copy);
  bson_copy_to_excluding_noinit(doc, &copy, "_id", nullptr);
  size_t length = 0;
  char* text = bson_as_relaxed_extended_json(&copy, &length);
  std::string out(text, length);
  bson_free(text);
  bson_destroy(&copy);
  return out;
}

std::string IdOf(const bson_t* doc) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it)) {
    uint32_t length = 0;
    const char* s = bson_iter_utf8(&it, &length);
    return std::string(s, length);
  }
  return {};
}

Bson IdSelector(std::string_view id) {
  Bson selector = NewBson();
  bson_append_utf8(selector.get(), "_id", 3, id.data(), static_cast<int>(id.size()));
  return selector;
}

// {_id: id, revision: revision}; for revision 0 also a document without the field.
Bson RevisionSelector(std::string_view id, int64_t revision) {
  Bson selector = IdSelector(id);
  if (revision != 0) {
    BSON_APPEND_INT64(selector.get(), kRevisionField, revision);
    return selector;
  }
  bson_t either, zero, missing, exists;
  BSON_APPEND_ARRAY_BEGIN(selector.get(), "$or", &either);
  BSON_APPEND_DOCUMENT_BEGIN(&either, "0", &zero);
  BSON_APPEND_INT64(&zero, kRevisionField, 0);
  bson_append_document_end(&either, &zero);
  BSON_APPEND_DOCUMENT_BEGIN(&either, "1", &missing);
  BSON_APPEND_DOCUMENT_BEGIN(&missing, kRevisionField, &exists);
  BSON_APPEND_BOOL(&exists, "$exists", false);
  bson_append_document_end(&missing, &exists);
  bson_append_document_end(&either, &missing);
  bson_append_array_end(selector.get(), &either);
  return selector;
}

int64_t Int64Field(const bson_t* doc, const char* field) {
  bson_iter_t it;
  return bson_iter_init_find(&it, doc, field) ? bson_iter_as_int64(&it) : 0;
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Conflict(std::string_view collection, std::string_view id) {
  return FailedPrecondition("'" + std::string(id) + "' in " + std::string(collection) +
                            " was changed concurrently; read it again");
}

// A prediction record's {shape: [rows, cols], data: <float32 bytes>}.
void AppendMatrix(bson_t* doc, const char* key, int64_t rows, int64_t cols,
                  const std::vector<float>& values) {
  bson_t matrix, shape;
  BSON_APPEND_DOCUMENT_BEGIN(doc, key, &matrix);
  BSON_APPEND_ARRAY_BEGIN(&matrix, "shape", &shape);
  BSON_APPEND_INT64(&shape, "0", rows);
  BSON_APPEND_INT64(&shape, "1", cols);
  bson_append_array_end(&matrix, &shape);
  BSON_APPEND_BINARY(&matrix, "data", BSON_SUBTYPE_BINARY,
                     reinterpret_cast<const uint8_t*>(values.data()),
                     static_cast<uint32_t>(values.size() * sizeof(float)));
  bson_append_document_end(doc, &matrix);
}

Bson PredictionToBson(const PredictionRecord& r) {
  Bson doc = NewBson();
  bson_append_utf8(doc.get(), "_id", 3, r.id.data(), static_cast<int>(r.id.size()));
  bson_append_utf8(doc.get(), "model", 5, r.model.data(), static_cast<int>(r.model.size()));
  BSON_APPEND_INT64(doc.get(), "version", r.version);
  BSON_APPEND_DATE_TIME(doc.get(), "time", r.time_ms);
  BSON_APPEND_INT64(doc.get(), "latency_us", r.latency_us);
  bson_append_utf8(doc.get(), "kind", 4, r.kind.data(), static_cast<int>(r.kind.size()));
  AppendMatrix(doc.get(), "inputs", r.rows, r.input_cols(), r.inputs);
  AppendMatrix(doc.get(), "outputs", r.rows, r.output_cols(), r.outputs);
  return doc;
}

std::string Utf8(const bson_iter_t* it) {
  uint32_t length = 0;
  const char* s = bson_iter_utf8(it, &length);
  return std::string(s, length);
}

// Reads a compact {shape, data: binary} matrix; false when `data` is not binary
// (a legacy record: numbers in an array).
bool ReadMatrix(const bson_iter_t* matrix, int64_t* rows, std::vector<float>* values) {
  bson_iter_t it;
  if (!BSON_ITER_HOLDS_DOCUMENT(matrix) || !bson_iter_recurse(matrix, &it)) return false;
  bool binary = false;
  while (bson_iter_next(&it)) {
    const std::string_view key = bson_iter_key(&it);
    if (key == "shape" && BSON_ITER_HOLDS_ARRAY(&it)) {
      bson_iter_t dims;
      if (bson_iter_recurse(&it, &dims) && bson_iter_next(&dims)) *rows = bson_iter_as_int64(&dims);
    } else if (key == "data" && BSON_ITER_HOLDS_BINARY(&it)) {
      bson_subtype_t subtype;
      uint32_t length = 0;
      const uint8_t* data = nullptr;
      bson_iter_binary(&it, &subtype, &length, &data);
      values->resize(length / sizeof(float));
      if (length >= sizeof(float)) std::memcpy(values->data(), data, values->size() * sizeof(float));
      binary = true;
    }
  }
  return binary;
}

StatusOr<PredictionRecord> PredictionFromBson(const bson_t* doc) {
  PredictionRecord r;
  bson_iter_t it;
  bool compact = true;
  int64_t output_rows = 0;
  if (!bson_iter_init(&it, doc)) return Internal("unreadable prediction record");
  while (bson_iter_next(&it)) {
    const std::string_view key = bson_iter_key(&it);
    if (key == "_id" && BSON_ITER_HOLDS_UTF8(&it)) {
      r.id = Utf8(&it);
    } else if (key == "model" && BSON_ITER_HOLDS_UTF8(&it)) {
      r.model = Utf8(&it);
    } else if (key == "kind" && BSON_ITER_HOLDS_UTF8(&it)) {
      r.kind = Utf8(&it);
    } else if (key == "version") {
      r.version = bson_iter_as_int64(&it);
    } else if (key == "latency_us") {
      r.latency_us = bson_iter_as_int64(&it);
    } else if (key == "time") {
      r.time_ms = BSON_ITER_HOLDS_DATE_TIME(&it) ? bson_iter_date_time(&it) : bson_iter_as_int64(&it);
    } else if (key == "inputs") {
      compact = compact && ReadMatrix(&it, &r.rows, &r.inputs);
    } else if (key == "outputs") {
      compact = compact && ReadMatrix(&it, &output_rows, &r.outputs);
    }
  }
  if (!compact) return PredictionFromLegacyJson(r.id, ToJson(doc));
  RETURN_IF_ERROR(CheckPredictionRecord(r));
  return r;
}

// A BSON value as JSON text (relaxed extended JSON).
std::string ValueToJson(const bson_iter_t* value) {
  Bson wrapper = NewBson();
  bson_append_iter(wrapper.get(), "v", 1, value);
  size_t length = 0;
  char* text = bson_as_relaxed_extended_json(wrapper.get(), &length);
  std::string json(text, length);
  bson_free(text);
  // {"v" : VALUE } -> VALUE
  const size_t colon = json.find(':');
  const size_t close = json.rfind('}');
  std::string out = json.substr(colon + 1, close - colon - 1);
  const size_t first = out.find_first_not_of(' ');
  const size_t last = out.find_last_not_of(' ');
  return first == std::string::npos ? "null" : out.substr(first, last - first + 1);
}

constexpr char kTtlIndex[] = "time_ttl";
constexpr int32_t kNamespaceNotFound = 26;
constexpr int32_t kIndexNotFound = 27;

}  // namespace

class MongoStore::Impl {
 public:
  ~Impl() {
    if (pool_) mongoc_client_pool_destroy(pool_);
    if (uri_) mongoc_uri_destroy(uri_);
  }

  // A client borrowed from the pool and a collection handle, both returned on
  // destruction.
  class Lease {
   public:
    Lease(Impl* impl, std::string_view collection)
        : pool_(impl->pool_), client_(mongoc_client_pool_pop(impl->pool_)) {
      if (!collection.empty()) {
        collection_ = mongoc_client_get_collection(client_, impl->database_.c_str(),
                                                   std::string(collection).c_str());
      }
    }
    ~Lease() {
      if (collection_) mongoc_collection_destroy(collection_);
      mongoc_client_pool_push(pool_, client_);
    }
    mongoc_client_t* client() { return client_; }
    mongoc_collection_t* collection() { return collection_; }

   private:
    mongoc_client_pool_t* pool_;
    mongoc_client_t* client_;
    mongoc_collection_t* collection_ = nullptr;
  };

  Status Open(const std::string& uri_text) {
    static std::once_flag init;
    std::call_once(init, [] {
      // The driver's own messages go to our log, at our levels, not to stderr;
      // set before mongoc_init, which has messages of its own. Its shared-memory
      // counters (for mongoc's own profiling tool) are not ours to warn about.
      mongoc_log_set_handler(
          [](mongoc_log_level_t level, const char* domain, const char* message, void*) {
            const bool counters = std::string_view(message).starts_with("Falling back to malloc");
            if (level <= MONGOC_LOG_LEVEL_WARNING && !counters) {
              spdlog::warn("mongoc {}: {}", domain, OneLine(message));
            } else {
              spdlog::trace("mongoc {}: {}", domain, message);
            }
          },
          nullptr);
      mongoc_init();
    });
    bson_error_t error;
    uri_ = mongoc_uri_new_with_error(uri_text.c_str(), &error);
    if (!uri_) return InvalidArgument(std::string("invalid MongoDB URI: ") + error.message);
    if (mongoc_uri_get_option_as_int32(uri_, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 0) == 0) {
      mongoc_uri_set_option_as_int32(uri_, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                                     kServerSelectionTimeoutMs);
    }
    mongoc_uri_set_appname(uri_, "inferd");
    const char* database = mongoc_uri_get_database(uri_);
    database_ = database && *database ? database : "inferd";
    pool_ = mongoc_client_pool_new(uri_);
    mongoc_client_pool_set_error_api(pool_, MONGOC_ERROR_API_VERSION_2);
    RETURN_IF_ERROR(Ping());
    RETURN_IF_ERROR(DetectFerretDb());
    return CreateIndexes();
  }

  // FerretDB answers buildInfo with a `ferretdbVersion` field; MongoDB does not.
  Status DetectFerretDb() {
    return RunCommand("buildInfo", "buildInfo", [this](const bson_t* reply) {
      bson_iter_t it;
      claim_revisions_ = bson_iter_init_find(&it, reply, "ferretdbVersion");
    });
  }

  Status Ping() {
    return RunCommand("ping", "unreachable", [](const bson_t*) {});
  }

  // Runs the database command {<name>: 1} and hands its reply to `on_reply`;
  // an error names `what` failed.
  template <typename Fn>
  Status RunCommand(const char* name, const char* what, Fn on_reply) {
    Lease lease(this, "");
    Bson command = NewBson();
    BSON_APPEND_INT32(command.get(), name, 1);
    bson_t reply;
    bson_error_t error;
    bool ok = mongoc_client_command_simple(lease.client(), database_.c_str(), command.get(),
                                           nullptr, &reply, &error);
    if (ok) on_reply(&reply);
    bson_destroy(&reply);
    return ok ? Status::Ok() : MongoError(what, error);
  }

  Status CreateIndexes() {
    struct Index {
      const char* collection;
      const char* field;
      const char* second_field;  // nullptr: a single-field index
    };
    for (auto [collection, field, second_field] :
         {Index{"model_versions", "name", nullptr}, Index{"predictions", "model", "_id"},
          Index{"datasets", "name", nullptr}, Index{kBlobChunks, "blob", nullptr},
          Index{"runs", "experiment_id", nullptr}, Index{"metric_history", "series", nullptr},
          Index{"logged_models", "experiment_id", nullptr}}) {
      Bson key = NewBson();
      BSON_APPEND_INT32(key.get(), field, 1);
      std::string name = std::string(field) + "_1";
      if (second_field != nullptr) {
        BSON_APPEND_INT32(key.get(), second_field, 1);
        name += std::string("_") + second_field + "_1";
      }
      RETURN_IF_ERROR(CreateIndex(collection, key.get(), name, -1));
    }
    return Status::Ok();
  }

  // Creates index `name` on `key`; a TTL index when expire_after_seconds >= 0.
  Status CreateIndex(const char* collection, const bson_t* key, const std::string& name,
                     int64_t expire_after_seconds, bson_error_t* error_out = nullptr) {
    Lease lease(this, "");
    Bson command = NewBson();
    BSON_APPEND_UTF8(command.get(), "createIndexes", collection);
    bson_t indexes, index;
    BSON_APPEND_ARRAY_BEGIN(command.get(), "indexes", &indexes);
    BSON_APPEND_DOCUMENT_BEGIN(&indexes, "0", &index);
    BSON_APPEND_DOCUMENT(&index, "key", key);
    BSON_APPEND_UTF8(&index, "name", name.c_str());
    if (expire_after_seconds >= 0) {
      BSON_APPEND_INT64(&index, "expireAfterSeconds", expire_after_seconds);
    }
    bson_append_document_end(&indexes, &index);
    bson_append_array_end(command.get(), &indexes);
    return WriteCommand(lease, command.get(), std::string("createIndexes on ") + collection,
                        error_out);
  }

  // Runs a database command that writes; `error_out` (optional) receives the error.
  Status WriteCommand(Lease& lease, const bson_t* command, const std::string& what,
                      bson_error_t* error_out = nullptr) {
    bson_t reply;
    bson_error_t error;
    bool ok = mongoc_client_write_command_with_opts(lease.client(), database_.c_str(), command,
                                                    nullptr, &reply, &error);
    bson_destroy(&reply);
    if (ok) return Status::Ok();
    if (error_out != nullptr) *error_out = error;
    return MongoError(what, error);
  }

  Status Insert(std::string_view collection, std::string_view id, std::string_view json) {
    ASSIGN_OR_RETURN(Bson doc, ToBson(id, json));
    Lease lease(this, collection);
    bson_error_t error;
    if (mongoc_collection_insert_one(lease.collection(), doc.get(), nullptr, nullptr, &error)) {
      return Status::Ok();
    }
    if (error.code == kDuplicateKey) {
      return AlreadyExists("'" + std::string(id) + "' already exists in " +
                           std::string(collection));
    }
    return MongoError("insert", error);
  }

  Status Put(std::string_view collection, std::string_view id, std::string_view json) {
    ASSIGN_OR_RETURN(Bson doc, ToBson(id, json));
    return Replace(collection, id, doc.get());
  }

  Status Replace(std::string_view collection, std::string_view id, const bson_t* doc) {
    Lease lease(this, collection);
    Bson opts = NewBson();
    BSON_APPEND_BOOL(opts.get(), "upsert", true);
    bson_error_t error;
    if (!mongoc_collection_replace_one(lease.collection(), IdSelector(id).get(), doc, opts.get(),
                                       nullptr, &error)) {
      return MongoError("replace", error);
    }
    return Status::Ok();
  }

  // Runs a find and hands each document to `fn`.
  template <typename Fn>
  Status Find(std::string_view collection, const bson_t* filter, const bson_t* opts, Fn fn) {
    Lease lease(this, collection);
    mongoc_cursor_t* cursor =
        mongoc_collection_find_with_opts(lease.collection(), filter, opts, nullptr);
    const bson_t* doc;
    while (mongoc_cursor_next(cursor, &doc)) fn(doc);
    bson_error_t error;
    bool failed = mongoc_cursor_error(cursor, &error);
    mongoc_cursor_destroy(cursor);
    return failed ? MongoError("find", error) : Status::Ok();
  }

  StatusOr<std::string> Get(std::string_view collection, std::string_view id) {
    std::optional<std::string> found;
    RETURN_IF_ERROR(Find(collection, IdSelector(id).get(), nullptr,
                         [&](const bson_t* doc) { found = ToJson(doc); }));
    if (!found) {
      return NotFound("'" + std::string(id) + "' not found in " + std::string(collection));
    }
    return *found;
  }

  Status UpdateIf(std::string_view collection, std::string_view id, std::string_view json,
                  int64_t expected_revision) {
    ASSIGN_OR_RETURN(Bson doc, ToBsonAtRevision(id, json, expected_revision + 1));
    return WithClaim(collection, id, expected_revision, [&]() -> Status {
      int64_t matched = 0;
      {
        Lease lease(this, collection);
        bson_t reply;
        bson_error_t error;
        bool ok = mongoc_collection_replace_one(lease.collection(),
                                                RevisionSelector(id, expected_revision).get(),
                                                doc.get(), nullptr, &reply, &error);
        matched = Int64Field(&reply, "matchedCount");
        bson_destroy(&reply);
        if (!ok) return MongoError("replace", error);
      }
      return matched == 1 ? Status::Ok() : NotChanged(collection, id);
    });
  }

  Status DeleteIf(std::string_view collection, std::string_view id, int64_t expected_revision) {
    return WithClaim(collection, id, expected_revision, [&]() -> Status {
      ASSIGN_OR_RETURN(int64_t deleted,
                       DeleteMatching(collection, RevisionSelector(id, expected_revision).get()));
      return deleted == 1 ? Status::Ok() : NotChanged(collection, id);
    });
  }

  // After a conditional write changed nothing: NotFound when the document is
  // absent, else FailedPrecondition.
  Status NotChanged(std::string_view collection, std::string_view id) {
    auto doc = Get(collection, id);
    return doc.ok() ? Conflict(collection, id) : doc.status();
  }

  // Runs the conditional write `write` of `id` at `expected_revision`; against
  // FerretDB only while holding the claim on the next revision.
  template <typename Fn>
  Status WithClaim(std::string_view collection, std::string_view id, int64_t expected_revision,
                   Fn write) {
    if (!claim_revisions_) return write();
    const std::string claim = std::string(collection) + "/" + std::string(id) + "@" +
                              std::to_string(expected_revision + 1);
    RETURN_IF_ERROR(Claim(collection, id, claim));
    Status status = write();
    // A claim left behind is harmless once the write landed (the document is
    // past this revision) and is taken over after the lease otherwise.
    if (auto released = DeleteMatching(kRevisionClaims, IdSelector(claim).get()); !released.ok()) {
      spdlog::warn("could not release revision claim '{}': {}", claim, released.status().message());
    }
    return status;
  }

  // Inserts the claim; FailedPrecondition while a live writer holds it. A
  // claim older than the lease (its writer died) is removed and claimed anew.
  Status Claim(std::string_view collection, std::string_view id, const std::string& claim) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      const int64_t now = NowMillis();
      Bson doc = IdSelector(claim);
      BSON_APPEND_INT64(doc.get(), "at", now);
      bson_error_t error;
      {
        Lease lease(this, kRevisionClaims);
        if (mongoc_collection_insert_one(lease.collection(), doc.get(), nullptr, nullptr, &error)) {
          return Status::Ok();
        }
      }
      if (error.code != kDuplicateKey) return MongoError("revision claim", error);
      std::optional<int64_t> held_since;
      RETURN_IF_ERROR(Find(kRevisionClaims, IdSelector(claim).get(), nullptr,
                           [&](const bson_t* held) { held_since = Int64Field(held, "at"); }));
      if (!held_since || now - *held_since < MongoStore::kClaimLeaseMs) break;
      spdlog::warn("taking over revision claim '{}' held since {} ms ago", claim,
                   now - *held_since);
      Bson stale = IdSelector(claim);
      BSON_APPEND_INT64(stale.get(), "at", *held_since);
      RETURN_IF_ERROR(DeleteMatching(kRevisionClaims, stale.get()).status());
    }
    return Conflict(collection, id);
  }

  // Deletes matching documents; returns how many.
  StatusOr<int64_t> DeleteMatching(std::string_view collection, const bson_t* selector) {
    Lease lease(this, collection);
    bson_t reply;
    bson_error_t error;
    bool ok = mongoc_collection_delete_many(lease.collection(), selector, nullptr, &reply, &error);
    bson_iter_t it;
    int64_t deleted = 0;
    if (ok && bson_iter_init_find(&it, &reply, "deletedCount")) deleted = bson_iter_as_int64(&it);
    bson_destroy(&reply);
    if (!ok) return MongoError("delete", error);
    return deleted;
  }

  StatusOr<std::vector<Document>> List(std::string_view collection, const Filter& filter,
                                       int64_t limit) {
    Bson query = NewBson();
    if (!filter.field.empty()) {
      bson_append_utf8(query.get(), filter.field.c_str(), static_cast<int>(filter.field.size()),
                       filter.value.data(), static_cast<int>(filter.value.size()));
    }
    Bson opts = NewBson();
    bson_t sort;
    BSON_APPEND_DOCUMENT_BEGIN(opts.get(), "sort", &sort);
    BSON_APPEND_INT32(&sort, "_id", 1);
    bson_append_document_end(opts.get(), &sort);
    if (limit > 0) BSON_APPEND_INT64(opts.get(), "limit", limit);
    std::vector<Document> out;
    RETURN_IF_ERROR(Find(collection, query.get(), opts.get(), [&](const bson_t* doc) {
      out.push_back({IdOf(doc), ToJson(doc)});
    }));
    return out;
  }

  StatusOr<int64_t> InsertMany(std::string_view collection, const std::vector<Document>& docs) {
    if (docs.empty()) return int64_t{0};
    std::vector<Bson> owned;
    std::vector<const bson_t*> pointers;
    for (const auto& d : docs) {
      ASSIGN_OR_RETURN(Bson doc, ToBson(d.id, d.json));
      pointers.push_back(doc.get());
      owned.push_back(std::move(doc));
    }
    return InsertDocuments(collection, pointers);
  }

  // Inserts documents unordered; ids already present are skipped and not counted.
  StatusOr<int64_t> InsertDocuments(std::string_view collection,
                                    std::vector<const bson_t*>& pointers) {
    Bson opts = NewBson();
    BSON_APPEND_BOOL(opts.get(), "ordered", false);
    Lease lease(this, collection);
    bson_t reply;
    bson_error_t error;
    bool ok = mongoc_collection_insert_many(lease.collection(), pointers.data(), pointers.size(),
                                            opts.get(), &reply, &error);
    int64_t inserted = 0;
    bool only_duplicates = true;
    bson_iter_t it, errors;
    if (bson_iter_init_find(&it, &reply, "insertedCount")) inserted = bson_iter_as_int64(&it);
    if (!ok && bson_iter_init_find(&it, &reply, "writeErrors") && BSON_ITER_HOLDS_ARRAY(&it) &&
        bson_iter_recurse(&it, &errors)) {
      while (bson_iter_next(&errors)) {
        bson_iter_t code;
        if (!bson_iter_recurse(&errors, &code) || !bson_iter_find(&code, "code") ||
            bson_iter_as_int64(&code) != kDuplicateKey) {
          only_duplicates = false;
        }
      }
    } else if (!ok) {
      only_duplicates = false;
    }
    if (!ok && bson_iter_init_find(&it, &reply, "writeConcernErrors")) only_duplicates = false;
    bson_destroy(&reply);
    if (!ok && !only_duplicates) return MongoError("insert many", error);
    return inserted;
  }

  StatusOr<int64_t> Count(std::string_view collection) {
    Lease lease(this, collection);
    Bson filter = NewBson();
    bson_error_t error;
    int64_t n = mongoc_collection_count_documents(lease.collection(), filter.get(), nullptr,
                                                  nullptr, nullptr, &error);
    if (n < 0) return MongoError("count", error);
    return n;
  }

  // Blobs: a `blobs` document {_id, size, chunks, gen} names the generation of
  // `blob_chunks` {_id: "<id>#<gen>#<n>", blob, gen, n, data} that holds the
  // bytes. A write adds a new generation, points the blob at it, then drops
  // the old ones, so a reader never sees a half-written blob.
  Status PutBlob(std::string_view id, std::string_view bytes) {
    static std::atomic<uint64_t> counter{0};
    const std::string gen =
        std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-" +
        std::to_string(std::random_device{}()) + "-" + std::to_string(++counter);
    int64_t chunks = 0;
    for (size_t offset = 0; offset < bytes.size() || chunks == 0; offset += kChunkBytes) {
      std::string_view piece = bytes.substr(offset, kChunkBytes);
      Bson chunk = NewBson();
      const std::string chunk_id = std::string(id) + "#" + gen + "#" + std::to_string(chunks);
      BSON_APPEND_UTF8(chunk.get(), "_id", chunk_id.c_str());
      bson_append_utf8(chunk.get(), "blob", 4, id.data(), static_cast<int>(id.size()));
      BSON_APPEND_UTF8(chunk.get(), "gen", gen.c_str());
      BSON_APPEND_INT64(chunk.get(), "n", chunks);
      BSON_APPEND_BINARY(chunk.get(), "data", BSON_SUBTYPE_BINARY,
                         reinterpret_cast<const uint8_t*>(piece.data()),
                         static_cast<uint32_t>(piece.size()));
      Lease lease(this, kBlobChunks);
      bson_error_t error;
      if (!mongoc_collection_insert_one(lease.collection(), chunk.get(), nullptr, nullptr,
                                        &error)) {
        return MongoError("blob chunk insert", error);
      }
      ++chunks;
      if (piece.size() < kChunkBytes) break;
    }
    Bson meta = NewBson();
    bson_append_utf8(meta.get(), "_id", 3, id.data(), static_cast<int>(id.size()));
    BSON_APPEND_INT64(meta.get(), "size", static_cast<int64_t>(bytes.size()));
    BSON_APPEND_INT64(meta.get(), "chunks", chunks);
    BSON_APPEND_UTF8(meta.get(), "gen", gen.c_str());
    RETURN_IF_ERROR(Replace(kBlobs, id, meta.get()));
    Bson stale = NewBson();
    bson_append_utf8(stale.get(), "blob", 4, id.data(), static_cast<int>(id.size()));
    bson_t ne;
    BSON_APPEND_DOCUMENT_BEGIN(stale.get(), "gen", &ne);
    BSON_APPEND_UTF8(&ne, "$ne", gen.c_str());
    bson_append_document_end(stale.get(), &ne);
    return DeleteMatching(kBlobChunks, stale.get()).status();
  }

  StatusOr<std::string> GetBlob(std::string_view id) {
    std::string gen;
    int64_t size = -1, chunks = 0;
    RETURN_IF_ERROR(Find(kBlobs, IdSelector(id).get(), nullptr, [&](const bson_t* doc) {
      bson_iter_t it;
      if (bson_iter_init_find(&it, doc, "size")) size = bson_iter_as_int64(&it);
      if (bson_iter_init_find(&it, doc, "chunks")) chunks = bson_iter_as_int64(&it);
      if (bson_iter_init_find(&it, doc, "gen") && BSON_ITER_HOLDS_UTF8(&it)) {
        gen = bson_iter_utf8(&it, nullptr);
      }
    }));
    if (size < 0) return NotFound("blob '" + std::string(id) + "' not found");
    Bson filter = NewBson();
    bson_append_utf8(filter.get(), "blob", 4, id.data(), static_cast<int>(id.size()));
    BSON_APPEND_UTF8(filter.get(), "gen", gen.c_str());
    Bson opts = NewBson();
    bson_t sort;
    BSON_APPEND_DOCUMENT_BEGIN(opts.get(), "sort", &sort);
    BSON_APPEND_INT32(&sort, "n", 1);
    bson_append_document_end(opts.get(), &sort);
    std::string bytes;
    bytes.reserve(static_cast<size_t>(size));
    int64_t seen = 0;
    RETURN_IF_ERROR(Find(kBlobChunks, filter.get(), opts.get(), [&](const bson_t* doc) {
      bson_iter_t it;
      if (bson_iter_init_find(&it, doc, "data") && BSON_ITER_HOLDS_BINARY(&it)) {
        bson_subtype_t subtype;
        uint32_t length = 0;
        const uint8_t* data = nullptr;
        bson_iter_binary(&it, &subtype, &length, &data);
        bytes.append(reinterpret_cast<const char*>(data), length);
        ++seen;
      }
    }));
    if (seen != chunks || static_cast<int64_t>(bytes.size()) != size) {
      return Unavailable("blob '" + std::string(id) + "' changed while being read; retry");
    }
    return bytes;
  }

  Status DeleteBlob(std::string_view id) {
    ASSIGN_OR_RETURN(int64_t deleted, DeleteMatching(kBlobs, IdSelector(id).get()));
    if (deleted == 0) return NotFound("blob '" + std::string(id) + "' not found");
    Bson chunks = NewBson();
    bson_append_utf8(chunks.get(), "blob", 4, id.data(), static_cast<int>(id.size()));
    return DeleteMatching(kBlobChunks, chunks.get()).status();
  }

  StatusOr<std::vector<std::string>> ListBlobs(std::string_view prefix) {
    Bson filter = NewBson();
    bson_t range;
    BSON_APPEND_DOCUMENT_BEGIN(filter.get(), "_id", &range);
    bson_append_utf8(&range, "$gte", 4, prefix.data(), static_cast<int>(prefix.size()));
    const std::string upper = std::string(prefix) + kMaxCodePoint;
    BSON_APPEND_UTF8(&range, "$lt", upper.c_str());
    bson_append_document_end(filter.get(), &range);
    Bson opts = NewBson();
    bson_t sort;
    BSON_APPEND_DOCUMENT_BEGIN(opts.get(), "sort", &sort);
    BSON_APPEND_INT32(&sort, "_id", 1);
    bson_append_document_end(opts.get(), &sort);
    std::vector<std::string> out;
    RETURN_IF_ERROR(Find(kBlobs, filter.get(), opts.get(),
                         [&](const bson_t* doc) { out.push_back(IdOf(doc)); }));
    return out;
  }

  // The prediction log.

  StatusOr<int64_t> InsertPredictions(const std::vector<PredictionRecord>& records) {
    for (const PredictionRecord& r : records) RETURN_IF_ERROR(CheckPredictionRecord(r));
    if (records.empty()) return int64_t{0};
    std::vector<Bson> owned;
    std::vector<const bson_t*> pointers;
    owned.reserve(records.size());
    for (const PredictionRecord& r : records) {
      owned.push_back(PredictionToBson(r));
      pointers.push_back(owned.back().get());
    }
    return InsertDocuments(kPredictions, pointers);
  }

  StatusOr<PredictionRecord> GetPrediction(std::string_view id) {
    std::optional<StatusOr<PredictionRecord>> found;
    RETURN_IF_ERROR(Find(kPredictions, IdSelector(id).get(), nullptr,
                         [&](const bson_t* doc) { found = PredictionFromBson(doc); }));
    if (!found) return NotFound("prediction '" + std::string(id) + "' not found");
    return std::move(*found);
  }

  StatusOr<std::vector<PredictionRecord>> ListPredictions(const PredictionQuery& q) {
    if (q.limit <= 0) return InvalidArgument("a prediction query needs a limit above 0");
    Bson filter = NewBson();
    bson_t range;
    BSON_APPEND_DOCUMENT_BEGIN(filter.get(), "_id", &range);
    bson_append_utf8(&range, "$gt", 3, q.after_id.data(), static_cast<int>(q.after_id.size()));
    BSON_APPEND_UTF8(&range, "$gte", PredictionIdPrefix(q.since_ms).c_str());
    if (q.until_ms > 0) BSON_APPEND_UTF8(&range, "$lt", PredictionIdPrefix(q.until_ms).c_str());
    bson_append_document_end(filter.get(), &range);
    if (!q.model.empty()) {
      bson_append_utf8(filter.get(), "model", 5, q.model.data(), static_cast<int>(q.model.size()));
    }
    if (q.version > 0) BSON_APPEND_INT64(filter.get(), "version", q.version);
    Bson opts = NewBson();
    bson_t sort;
    BSON_APPEND_DOCUMENT_BEGIN(opts.get(), "sort", &sort);
    BSON_APPEND_INT32(&sort, "_id", 1);
    bson_append_document_end(opts.get(), &sort);
    BSON_APPEND_INT64(opts.get(), "limit", q.limit);
    ASSIGN_OR_RETURN(std::vector<PredictionRecord> out, FindPredictions(filter.get(), opts.get()));
    if (q.with_ground_truth && !out.empty()) RETURN_IF_ERROR(JoinGroundTruth(&out));
    return out;
  }

  // The prediction records a find returns; the first record that does not
  // decode fails the whole find.
  StatusOr<std::vector<PredictionRecord>> FindPredictions(const bson_t* filter,
                                                          const bson_t* opts) {
    std::vector<PredictionRecord> out;
    Status decoded = Status::Ok();
    RETURN_IF_ERROR(Find(kPredictions, filter, opts, [&](const bson_t* doc) {
      auto r = PredictionFromBson(doc);
      if (r.ok()) {
        out.push_back(std::move(r).value());
      } else if (decoded.ok()) {
        decoded = r.status();
      }
    }));
    RETURN_IF_ERROR(decoded);
    return out;
  }

  // Fills each record's ground_truth from the feedback with its id.
  Status JoinGroundTruth(std::vector<PredictionRecord>* records) {
    Bson filter = NewBson();
    bson_t id, in;
    BSON_APPEND_DOCUMENT_BEGIN(filter.get(), "_id", &id);
    BSON_APPEND_ARRAY_BEGIN(&id, "$in", &in);
    for (size_t i = 0; i < records->size(); ++i) {
      const std::string& value = (*records)[i].id;
      const std::string index = std::to_string(i);
      bson_append_utf8(&in, index.c_str(), static_cast<int>(index.size()), value.data(),
                       static_cast<int>(value.size()));
    }
    bson_append_array_end(&id, &in);
    bson_append_document_end(filter.get(), &id);
    std::unordered_map<std::string, std::string> truths;
    RETURN_IF_ERROR(Find(kFeedback, filter.get(), nullptr, [&](const bson_t* doc) {
      bson_iter_t it;
      if (bson_iter_init_find(&it, doc, "ground_truth")) truths[IdOf(doc)] = ValueToJson(&it);
    }));
    for (PredictionRecord& r : *records) {
      if (auto found = truths.find(r.id); found != truths.end()) r.ground_truth = found->second;
    }
    return Status::Ok();
  }

  StatusOr<int64_t> DeleteOldestPredictions(int64_t before_ms, int64_t limit) {
    if (limit <= 0) return int64_t{0};
    const std::string bound = PredictionIdPrefix(before_ms);
    // The limit-th oldest id below the bound; with fewer, every one below it.
    Bson below = NewBson();
    bson_t range;
    BSON_APPEND_DOCUMENT_BEGIN(below.get(), "_id", &range);
    BSON_APPEND_UTF8(&range, "$lt", bound.c_str());
    bson_append_document_end(below.get(), &range);
    Bson opts = NewBson();
    bson_t sort, projection;
    BSON_APPEND_DOCUMENT_BEGIN(opts.get(), "sort", &sort);
    BSON_APPEND_INT32(&sort, "_id", 1);
    bson_append_document_end(opts.get(), &sort);
    BSON_APPEND_DOCUMENT_BEGIN(opts.get(), "projection", &projection);
    BSON_APPEND_INT32(&projection, "_id", 1);
    bson_append_document_end(opts.get(), &projection);
    BSON_APPEND_INT64(opts.get(), "skip", limit - 1);
    BSON_APPEND_INT64(opts.get(), "limit", 1);
    std::string last;
    RETURN_IF_ERROR(Find(kPredictions, below.get(), opts.get(),
                         [&](const bson_t* doc) { last = IdOf(doc); }));
    if (last.empty()) return DeleteMatching(kPredictions, below.get());
    Bson upto = NewBson();
    BSON_APPEND_DOCUMENT_BEGIN(upto.get(), "_id", &range);
    BSON_APPEND_UTF8(&range, "$lte", last.c_str());
    bson_append_document_end(upto.get(), &range);
    return DeleteMatching(kPredictions, upto.get());
  }

  StatusOr<PredictionLogSize> GetPredictionLogSize() {
    Lease lease(this, "");
    Bson command = NewBson();
    BSON_APPEND_UTF8(command.get(), "collStats", std::string(kPredictions).c_str());
    bson_t reply;
    bson_error_t error;
    bool ok = mongoc_client_command_simple(lease.client(), database_.c_str(), command.get(),
                                           nullptr, &reply, &error);
    PredictionLogSize size;
    if (ok) {
      size.records = Int64Field(&reply, "count");
      size.bytes = Int64Field(&reply, "size");
    }
    bson_destroy(&reply);
    if (!ok && error.code != kNamespaceNotFound) return MongoError("collStats", error);
    return size;
  }

  Status SetPredictionTtl(int64_t seconds) {
    if (claim_revisions_) {
      return Unimplemented("FerretDB 1.x has no TTL indexes: inferd deletes expired "
                           "predictions itself");
    }
    Lease lease(this, "");
    if (seconds <= 0) {
      Bson command = NewBson();
      BSON_APPEND_UTF8(command.get(), "dropIndexes", std::string(kPredictions).c_str());
      BSON_APPEND_UTF8(command.get(), "index", kTtlIndex);
      bson_error_t error{};
      Status st = WriteCommand(lease, command.get(), "dropIndexes", &error);
      return st.ok() || error.code == kIndexNotFound ? Status::Ok() : st;
    }
    // Changes the expiry of the index when it exists, else creates it.
    Bson command = NewBson();
    BSON_APPEND_UTF8(command.get(), "collMod", std::string(kPredictions).c_str());
    bson_t index;
    BSON_APPEND_DOCUMENT_BEGIN(command.get(), "index", &index);
    BSON_APPEND_UTF8(&index, "name", kTtlIndex);
    BSON_APPEND_INT64(&index, "expireAfterSeconds", seconds);
    bson_append_document_end(command.get(), &index);
    bson_error_t error{};
    Status st = WriteCommand(lease, command.get(), "collMod", &error);
    if (st.ok() || error.code != kIndexNotFound) return st;
    Bson key = NewBson();
    BSON_APPEND_INT32(key.get(), "time", 1);
    return CreateIndex(std::string(kPredictions).c_str(), key.get(), kTtlIndex, seconds);
  }

  StatusOr<int64_t> MigrateLegacyPredictions(int64_t limit) {
    if (limit <= 0) return int64_t{0};
    Bson filter = NewBson();
    bson_t type;
    BSON_APPEND_DOCUMENT_BEGIN(filter.get(), "inputs.data", &type);
    BSON_APPEND_UTF8(&type, "$type", "array");
    bson_append_document_end(filter.get(), &type);
    Bson opts = NewBson();
    BSON_APPEND_INT64(opts.get(), "limit", limit);
    ASSIGN_OR_RETURN(std::vector<PredictionRecord> records,
                     FindPredictions(filter.get(), opts.get()));
    for (const PredictionRecord& r : records) {
      RETURN_IF_ERROR(Replace(kPredictions, r.id, PredictionToBson(r).get()));
    }
    return static_cast<int64_t>(records.size());
  }

 private:
  mongoc_uri_t* uri_ = nullptr;
  mongoc_client_pool_t* pool_ = nullptr;
  std::string database_;
  bool claim_revisions_ = false;  // the server is FerretDB; set once by Open
};

StatusOr<std::unique_ptr<MongoStore>> MongoStore::Open(const std::string& uri) {
  auto impl = std::make_unique<Impl>();
  RETURN_IF_ERROR(impl->Open(uri));
  return std::unique_ptr<MongoStore>(new MongoStore(std::move(impl)));
}

MongoStore::MongoStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MongoStore::~MongoStore() = default;

Status MongoStore::Ping() { return impl_->Ping(); }

Status MongoStore::Insert(std::string_view collection, const Document& doc) {
  RETURN_IF_ERROR(CheckCollection(collection));
  return impl_->Insert(collection, doc.id, doc.json);
}
Status MongoStore::Put(std::string_view collection, const Document& doc) {
  RETURN_IF_ERROR(CheckCollection(collection));
  return impl_->Put(collection, doc.id, doc.json);
}
StatusOr<std::string> MongoStore::Get(std::string_view collection, std::string_view id) {
  RETURN_IF_ERROR(CheckCollection(collection));
  return impl_->Get(collection, id);
}
Status MongoStore::Delete(std::string_view collection, std::string_view id) {
  RETURN_IF_ERROR(CheckCollection(collection));
  ASSIGN_OR_RETURN(int64_t deleted, impl_->DeleteMatching(collection, IdSelector(id).get()));
  if (deleted == 0) {
    return NotFound("'" + std::string(id) + "' not found in " + std::string(collection));
  }
  return Status::Ok();
}
Status MongoStore::UpdateIf(std::string_view collection, const Document& doc,
                            int64_t expected_revision) {
  RETURN_IF_ERROR(CheckCollection(collection));
  return impl_->UpdateIf(collection, doc.id, doc.json, expected_revision);
}
Status MongoStore::DeleteIf(std::string_view collection, std::string_view id,
                            int64_t expected_revision) {
  RETURN_IF_ERROR(CheckCollection(collection));
  return impl_->DeleteIf(collection, id, expected_revision);
}
StatusOr<std::vector<Document>> MongoStore::List(std::string_view collection,
                                                 const Filter& filter, int64_t limit) {
  RETURN_IF_ERROR(CheckCollection(collection));
  return impl_->List(collection, filter, limit);
}
StatusOr<int64_t> MongoStore::InsertMany(std::string_view collection,
                                         const std::vector<Document>& docs) {
  RETURN_IF_ERROR(CheckCollection(collection));
  return impl_->InsertMany(collection, docs);
}
StatusOr<int64_t> MongoStore::Count(std::string_view collection) {
  RETURN_IF_ERROR(CheckCollection(collection));
  return impl_->Count(collection);
}
Status MongoStore::PutBlob(std::string_view id, std::string_view bytes) {
  return impl_->PutBlob(id, bytes);
}
StatusOr<std::string> MongoStore::GetBlob(std::string_view id) { return impl_->GetBlob(id); }
Status MongoStore::DeleteBlob(std::string_view id) { return impl_->DeleteBlob(id); }
StatusOr<std::vector<std::string>> MongoStore::ListBlobs(std::string_view id_prefix) {
  return impl_->ListBlobs(id_prefix);
}

StatusOr<int64_t> MongoStore::InsertPredictions(const std::vector<PredictionRecord>& records) {
  return impl_->InsertPredictions(records);
}
StatusOr<PredictionRecord> MongoStore::GetPrediction(std::string_view id) {
  return impl_->GetPrediction(id);
}
StatusOr<std::vector<PredictionRecord>> MongoStore::ListPredictions(const PredictionQuery& query) {
  return impl_->ListPredictions(query);
}
StatusOr<int64_t> MongoStore::DeleteOldestPredictions(int64_t before_ms, int64_t limit) {
  return impl_->DeleteOldestPredictions(before_ms, limit);
}
StatusOr<PredictionLogSize> MongoStore::GetPredictionLogSize() {
  return impl_->GetPredictionLogSize();
}
Status MongoStore::SetPredictionTtl(int64_t seconds) { return impl_->SetPredictionTtl(seconds); }
StatusOr<int64_t> MongoStore::MigrateLegacyPredictions(int64_t limit) {
  return impl_->MigrateLegacyPredictions(limit);
}

}  // namespace inferd::store
