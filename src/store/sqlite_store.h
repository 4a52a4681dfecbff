// SqliteStore: the Store on an embedded SQLite file, the default backend.
//
// Each collection is a table `(id TEXT PRIMARY KEY, doc TEXT)` holding the
// JSON document; blobs live in `blobs(id TEXT PRIMARY KEY, data BLOB)`. The
// file is opened in WAL mode with a busy timeout, so the server and the CLI
// can use it at once. UpdateIf and DeleteIf are one UPDATE / DELETE statement
// whose WHERE clause compares the revision, so SQLite's write lock makes them
// atomic across processes. One connection, guarded by a mutex. Documents are
// stored as given: SQLite does not re-validate them (callers write them with
// JsonWriter), which keeps batch inserts of the prediction log cheap.
#pragma once

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

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  Status Exec(const std::string& sql);  // requires mu_
  // After a conditional write changed nothing: NotFound when `id` is absent
  // from `table`, else FailedPrecondition (its revision moved on). Requires mu_.
  Status NotChanged(const std::string& table, std::string_view id);

  std::mutex mu_;
  sqlite3* db_;  // guarded by mu_; owned
};

}  // namespace inferd::store
