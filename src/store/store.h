// Store: where inferd keeps its state — the model registry, model artifacts,
// datasets, prediction logs and feedback — so that every replica sees it.
//
// A Store is a set of named collections of JSON documents keyed by id, plus
// binary blobs. It is deliberately small so that each backend stays simple
// and one contract test suite (store_contract_test.cc) proves them alike:
//   - SqliteStore: an embedded SQLite file, the default (sqlite_store.h);
//   - MongoStore:  MongoDB through the MongoDB C driver (mongo_store.h).
// Documents are JSON objects. Numbers read back as numbers; integers beyond
// 2^53 should be stored as strings.
//
// Collections (created with their indexes on first use) are listed in
// kCollections; docs/store.md documents their fields. The prediction log is
// not one of them: its records are typed (store/predictions.h) and have
// methods of their own, below the documents'.
//
// Concurrent writers (threads, or servers sharing one store) change a document
// by optimistic compare-and-swap: a document that is read, changed and written
// back carries an integer field `revision` (kRevisionField; absent reads as 0),
// and UpdateIf / DeleteIf act only when the stored revision is still the one
// the caller read. Of several writers that read the same revision exactly one
// succeeds; the others get FailedPrecondition, re-read and retry. No backend
// needs transactions for it (FerretDB has none; MongoDB's need a replica set).
// Insert and Put store documents as given, so a document guarded by revisions
// must not be Put: that would reset its revision under the other writers.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/predictions.h"

namespace inferd::store {

inline constexpr std::string_view kRegisteredModels = "registered_models";
inline constexpr std::string_view kModelVersions = "model_versions";
inline constexpr std::string_view kDatasets = "datasets";
inline constexpr std::string_view kPredictions = "predictions";
inline constexpr std::string_view kFeedback = "feedback";
// MLflow tracking (registry/tracking.h): experiments by id and their names
// (claimed by insert, so names stay unique), runs, every logged metric value,
// and MLflow 3's logged models.
inline constexpr std::string_view kExperiments = "experiments";
inline constexpr std::string_view kExperimentNames = "experiment_names";
inline constexpr std::string_view kRuns = "runs";
inline constexpr std::string_view kMetricHistory = "metric_history";
inline constexpr std::string_view kLoggedModels = "logged_models";
inline constexpr std::string_view kCollections[] = {
    kRegisteredModels, kModelVersions,   kDatasets, kFeedback,
    kExperiments,      kExperimentNames, kRuns,     kMetricHistory, kLoggedModels};

// The document field that UpdateIf and DeleteIf compare and UpdateIf advances.
inline constexpr char kRevisionField[] = "revision";

struct Document {
  std::string id;
  std::string json;  // a JSON object, without the id
};

// An equality filter on one top-level string field; an empty field matches all.
struct Filter {
  std::string field;
  std::string value;
};

class Store {
 public:
  virtual ~Store() = default;

  // "sqlite" or "mongodb".
  virtual std::string_view backend() const = 0;

  // Checks that the store answers. Unavailable (with the reason) when not.
  virtual Status Ping() = 0;

  // Adds a document. AlreadyExists when the id is taken; nothing is changed then.
  virtual Status Insert(std::string_view collection, const Document& doc) = 0;

  // Adds or replaces a document.
  virtual Status Put(std::string_view collection, const Document& doc) = 0;

  // The document's JSON. NotFound when absent.
  virtual StatusOr<std::string> Get(std::string_view collection, std::string_view id) = 0;

  // Removes a document. NotFound when absent.
  virtual Status Delete(std::string_view collection, std::string_view id) = 0;

  // Replaces document `doc.id` by `doc.json` with its `revision` field set to
  // `expected_revision + 1`, if the stored revision is `expected_revision` (a
  // document without the field has revision 0). Atomic: no other UpdateIf or
  // DeleteIf, from this process or another, lands between the comparison and
  // the replacement.
  // FailedPrecondition when the stored revision differs or another conditional
  // write of the document is under way (either way: read it again), NotFound
  // when the document is absent, InvalidArgument when `doc.json` is not a JSON
  // object; the stored document is unchanged in each case.
  virtual Status UpdateIf(std::string_view collection, const Document& doc,
                          int64_t expected_revision) = 0;

  // Removes document `id` if its stored revision is `expected_revision`,
  // atomically as UpdateIf. FailedPrecondition and NotFound as for UpdateIf;
  // nothing is removed then.
  virtual Status DeleteIf(std::string_view collection, std::string_view id,
                          int64_t expected_revision) = 0;

  // Documents matching `filter`, by ascending id, at most `limit` (0: all).
  virtual StatusOr<std::vector<Document>> List(std::string_view collection, const Filter& filter,
                                               int64_t limit = 0) = 0;

  // Adds many documents at once; ids already present are skipped (so a
  // replayed batch is never counted twice). Returns how many were added. On
  // failure some may have been added; replaying the batch is safe.
  virtual StatusOr<int64_t> InsertMany(std::string_view collection,
                                       const std::vector<Document>& docs) = 0;

  // Number of documents in a collection.
  virtual StatusOr<int64_t> Count(std::string_view collection) = 0;

  // Blobs (model artifacts): any size the backend's memory allows; MongoDB
  // splits them into chunks below its 16 MB document limit.
  virtual Status PutBlob(std::string_view id, std::string_view bytes) = 0;
  virtual StatusOr<std::string> GetBlob(std::string_view id) = 0;  // NotFound when absent
  virtual Status DeleteBlob(std::string_view id) = 0;              // NotFound when absent
  virtual StatusOr<std::vector<std::string>> ListBlobs(std::string_view id_prefix) = 0;

  // The prediction log (kPredictions), records as in store/predictions.h.
  //
  // Adds records; ids already present are skipped (so a replayed batch is
  // never counted twice). Returns how many were added. InvalidArgument, with
  // nothing added, when CheckPredictionRecord refuses one; on other failures
  // some may have been added, and replaying the batch is safe.
  virtual StatusOr<int64_t> InsertPredictions(const std::vector<PredictionRecord>& records) = 0;
  // One record, compact or legacy. NotFound when absent.
  virtual StatusOr<PredictionRecord> GetPrediction(std::string_view id) = 0;
  // The records `query` selects, by ascending id. InvalidArgument when
  // query.limit <= 0.
  virtual StatusOr<std::vector<PredictionRecord>> ListPredictions(const PredictionQuery& query) = 0;
  // Deletes the oldest records older than `before_ms`, at most `limit` of
  // them, in one short write; returns how many went.
  virtual StatusOr<int64_t> DeleteOldestPredictions(int64_t before_ms, int64_t limit) = 0;
  virtual StatusOr<PredictionLogSize> GetPredictionLogSize() = 0;
  // Has the server expire records older than `seconds` by itself (a MongoDB
  // TTL index on `time`); 0 removes that. Unimplemented where the server
  // cannot (SQLite, FerretDB 1.x): the caller deletes them instead.
  virtual Status SetPredictionTtl(int64_t seconds) = 0;
  // Rewrites at most `limit` legacy JSON records in the compact layout; returns
  // how many (0: none are left). Safe to run while servers write.
  virtual StatusOr<int64_t> MigrateLegacyPredictions(int64_t limit) = 0;
};

// Opens the store a URI names, creating its schema on first use:
//   sqlite:///relative/path.db, sqlite:////absolute/path.db (SQLAlchemy's form)
//   mongodb://user:pass@host:27017/inferd?authSource=admin
// Unavailable with one clear line when the store cannot be reached or the
// credentials are refused; InvalidArgument for a malformed URI.
StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& uri);

// The store URI from the environment: INFERD_STORE if set; else, when
// MONGO_URL is set, mongodb://MONGO_USERNAME:MONGO_PASSWORD@MONGO_URL/MONGO_DB
// (MONGO_DB defaults to "inferd"; authSource=admin when credentials are
// given); else `fallback`.
std::string StoreUriFromEnv(const std::string& fallback);

// The URI with any password replaced by "***", for logs and errors.
std::string RedactUri(std::string_view uri);

// OK when `collection` is one of kCollections; InvalidArgument otherwise.
Status CheckCollection(std::string_view collection);

inline constexpr char kDefaultStoreUri[] = "sqlite:///inferd-data/inferd.db";

}  // namespace inferd::store
