// SqliteStore: the Store on an embedded SQLite file, the default backend.
//
// Each collection is a table `(id TEXT PRIMARY KEY, doc TEXT)` holding the
// JSON document; blobs live in `blobs(id TEXT PRIMARY KEY, data BLOB)`. The
// prediction log is the table `predictions (id, model, version, time,
// latency_us, kind, rows, inputs BLOB, outputs BLOB)` indexed by (model, id),
// with its size kept exactly in `predictions_size` by every write that changes
// it; a database from before that layout has its JSON table renamed
// `predictions_json` on open, read by GetPrediction until migrated (and kept,
// emptied, after). New files have 16 KiB pages (kPageSize) and are read
// through mmap. Deleted
// records' pages are reused by later inserts; the WAL is truncated to
// kJournalSizeLimit after each checkpoint. The
// file is opened in WAL mode with a busy timeout, so the server and the CLI
// can use it at once. UpdateIf and DeleteIf are one UPDATE / DELETE statement
// whose WHERE clause compares the revision, so SQLite's write lock makes them
// atomic across processes. One connection, guarded by a mutex. Documents are
// stored as given: SQLite does not re-validate them (callers write them with
// JsonWriter), which keeps batch inserts of the prediction log cheap.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "store/store.h"

struct sqlite3;

namespace inferd::store {

class SqliteStore final : public Store {
 public:
  // Opens (creating folders, file and schema as needed) the database at `path`.
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  std::string_view backend() const override { return "sqlite"; }
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

  // The WAL's size kept after a checkpoint (PRAGMA journal_size_limit).
  static constexpr int64_t kJournalSizeLimit = 64ll << 20;
  // Pages of a new file: a 64-row prediction record (7.7 KB of floats) fits in
  // one page instead of a chain of three overflow pages, which halved the
  // prediction writer's CPU per 64-row record with mmap below (bench/README.md).
  static constexpr int kPageSize = 16 << 10;
  // Reads of the first 64 MiB through mmap rather than read() copies, and an
  // 8 MiB page cache (SQLite's default is 2 MB): both count in the RSS.
  static constexpr int64_t kMmapBytes = 64ll << 20;
  static constexpr int kCacheKiB = 8 << 10;

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  Status Exec(const std::string& sql);  // requires mu_
  // After a conditional write changed nothing: NotFound when `id` is absent
  // from `table`, else FailedPrecondition (its revision moved on). Requires mu_.
  Status NotChanged(const std::string& table, std::string_view id);
  // Creates the prediction table, renaming one of the legacy layout. Requires mu_.
  Status CreatePredictionSchema();
  // Inserts records inside the caller's transaction; adds their count and
  // bytes to `added`. Requires mu_.
  Status InsertPredictionsLocked(const std::vector<PredictionRecord>& records,
                                 PredictionLogSize* added);
  // Runs `write` in a write transaction, committed when it succeeds and rolled
  // back when it fails. Requires mu_.
  StatusOr<int64_t> InTransaction(const std::function<StatusOr<int64_t>()>& write);
  // Adds `delta` to predictions_size. Requires mu_.
  Status AddToSize(const PredictionLogSize& delta);
  bool has_legacy_predictions_ = false;  // guarded by mu_

  std::mutex mu_;
  sqlite3* db_;  // guarded by mu_; owned
};

}  // namespace inferd::store
