// MongoStore: the Store on MongoDB, through the MongoDB C driver (libmongoc).
//
// Each collection is a MongoDB collection whose documents are the JSON
// documents with `_id` set to the id, so they can be queried directly (for
// instance with pymongo). Blobs are split into `blob_chunks` documents of at
// most kChunkBytes (below MongoDB's 16 MB limit) with a `blobs` document
// listing them. Operations stay within what MongoDB 7 and FerretDB 1.x both
// serve: no transactions or change streams, and a TTL index only on MongoDB.
//
// Prediction records are documents {_id, model, version, time (a BSON date),
// latency_us, kind, inputs: {shape: [rows, cols], data: BinData}, outputs:
// {...}}, data being little-endian float32s; the index {model: 1, _id: 1}
// serves queries by model and time. Legacy records (data as an array of
// numbers, time in ms) are read as they are and rewritten by
// MigrateLegacyPredictions. The log's size is collStats' count and size.
//
// UpdateIf / DeleteIf are one replace_one / delete_one whose filter holds the
// expected revision, which MongoDB applies atomically to the document.
// FerretDB 1.x does not: it reads the matching document and writes it back in
// two steps (FerretDB issue #3040), so two conditional writes of the same
// revision could both land. Against FerretDB (recognised at Open by the
// `ferretdbVersion` field of buildInfo) each conditional write therefore
// first inserts a claim `revision_claims` {_id: "<collection>/<id>@<next
// revision>", at (ms)}: the unique _id admits one writer per revision, and the
// claim is removed once the write is done. A claim left by a writer that died
// holding it is taken over after kClaimLeaseMs.
//
// Thread-safe: each call borrows a client from a mongoc_client_pool_t.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace inferd::store {

class MongoStore final : public Store {
 public:
  static constexpr size_t kChunkBytes = 4 << 20;
  // How long a revision claim (FerretDB only) may be held before another
  // writer may take it over; a claim is normally held for one round trip.
  static constexpr int64_t kClaimLeaseMs = 10'000;

  // Connects, checks the server answers and the credentials are accepted, and
  // creates the indexes. `uri` is a mongodb:// URI; its path names the
  // database (default "inferd").
  static StatusOr<std::unique_ptr<MongoStore>> Open(const std::string& uri);
  ~MongoStore() override;

  std::string_view backend() const override { return "mongodb"; }
  Status Ping() override;
  Status Insert(std::string_view collection, const Document& doc) override;
  Status Put(std::string_view collection, const Document& doc) override;
  StatusOr<std::string> Get(std::string_view collection, std::string_view id) override;
  Status Delete(std::string_view collection, std::string_view id) override;
  Status UpdateIf(std::string_view collection, const Document& doc,
                  int64_t expected_revision) override;
  Status DeleteIf(std::string_view collection, std::string_view id,
                  int64_t expected_revision) override;
  StatusOr<std::vector<Document>> List(std::string_view collection, const Filter& filter,
                                       int64_t limit) override;
  StatusOr<int64_t> InsertMany(std::string_view collection,
                               const std::vector<Document>& docs) override;
  StatusOr<int64_t> Count(std::string_view collection) override;
  Status PutBlob(std::string_view id, std::string_view bytes) override;
  StatusOr<std::string> GetBlob(std::string_view id) override;
  Status DeleteBlob(std::string_view id) override;
  StatusOr<std::vector<std::string>> ListBlobs(std::string_view id_prefix) override;
  StatusOr<int64_t> InsertPredictions(const std::vector<PredictionRecord>& records) override;
  StatusOr<PredictionRecord> GetPrediction(std::string_view id) override;
  StatusOr<std::vector<PredictionRecord>> ListPredictions(const PredictionQuery& query) override;
  StatusOr<int64_t> DeleteOldestPredictions(int64_t before_ms, int64_t limit) override;
  StatusOr<PredictionLogSize> GetPredictionLogSize() override;
  Status SetPredictionTtl(int64_t seconds) override;
  StatusOr<int64_t> MigrateLegacyPredictions(int64_t limit) override;

 private:
  class Impl;
  explicit MongoStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferd::store
