#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <cctype>
#include <filesystem>

namespace inferd::store {
namespace {

constexpr int kBusyTimeoutMs = 5000;

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Status status() const {
    return rc_ == SQLITE_OK ? Status::Ok() : Error("prepare");
  }
  Statement& Bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindBlob(int i, std::string_view bytes) {
    sqlite3_bind_blob64(stmt_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string Text(int column) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    return p ? std::string(p, sqlite3_column_bytes(stmt_, column)) : std::string();
  }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  Status Error(const char* what) const {
    return Unavailable(std::string("sqlite ") + what + ": " + sqlite3_errmsg(db_));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

// Table names come from kCollections only, never from users.
StatusOr<std::string> Table(std::string_view collection) {
  RETURN_IF_ERROR(CheckCollection(collection));
  return std::string(collection);
}

bool IsSafeField(std::string_view field) {
  for (char c : field) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return !field.empty();
}

}  // namespace

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Unavailable("cannot open SQLite store " + path + ": " + message);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  std::lock_guard lock(store->mu_);
  RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"));
  for (std::string_view collection : kCollections) {
    RETURN_IF_ERROR(store->Exec("CREATE TABLE IF NOT EXISTS " + std::string(collection) +
                                " (id TEXT PRIMARY KEY, doc TEXT NOT NULL)"));
  }
  RETURN_IF_ERROR(store->Exec(
      "CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, data BLOB NOT NULL);"
      "CREATE INDEX IF NOT EXISTS model_versions_name ON model_versions "
      "(json_extract(doc, '$.name'));"
      "CREATE INDEX IF NOT EXISTS predictions_model ON predictions "
      "(json_extract(doc, '$.model'));"
      "CREATE INDEX IF NOT EXISTS datasets_name ON datasets (json_extract(doc, '$.name'));"));
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

Status SqliteStore::Exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return Unavailable("sqlite: " + message);
  }
  return Status::Ok();
}

Status SqliteStore::Ping() {
  std::lock_guard lock(mu_);
  return Exec("SELECT 1");
}

Status SqliteStore::Insert(std::string_view collection, const Document& doc) {
  ASSIGN_OR_RETURN(std::string table, Table(collection));
  std::lock_guard lock(mu_);
  Statement st(db_, "INSERT INTO " + table + " (id, doc) VALUES (?, ?)");
  RETURN_IF_ERROR(st.status());
  int rc = st.Bind(1, doc.id).Bind(2, doc.json).Step();
  if (rc == SQLITE_CONSTRAINT) {
    return AlreadyExists("'" + doc.id + "' already exists in " + table);
  }
  return rc == SQLITE_DONE ? Status::Ok() : st.Error("insert");
}

Status SqliteStore::Put(std::string_view collection, const Document& doc) {
  ASSIGN_OR_RETURN(std::string table, Table(collection));
  std::lock_guard lock(mu_);
  Statement st(db_, "INSERT OR REPLACE INTO " + table + " (id, doc) VALUES (?, ?)");
  RETURN_IF_ERROR(st.status());
  return st.Bind(1, doc.id).Bind(2, doc.json).Step() == SQLITE_DONE ? Status::Ok()
                                                                     : st.Error("put");
}

StatusOr<std::string> SqliteStore::Get(std::string_view collection, std::string_view id) {
  ASSIGN_OR_RETURN(std::string table, Table(collection));
  std::lock_guard lock(mu_);
  Statement st(db_, "SELECT doc FROM " + table + " WHERE id = ?");
  RETURN_IF_ERROR(st.status());
  int rc = st.Bind(1, id).Step();
  if (rc == SQLITE_ROW) return st.Text(0);
  if (rc == SQLITE_DONE) return NotFound("'" + std::string(id) + "' not found in " + table);
  return st.Error("get");
}

Status SqliteStore::Delete(std::string_view collection, std::string_view id) {
  ASSIGN_OR_RETURN(std::string table, Table(collection));
  std::lock_guard lock(mu_);
  Statement st(db_, "DELETE FROM " + table + " WHERE id = ?");
  RETURN_IF_ERROR(st.status());
  if (st.Bind(1, id).Step() != SQLITE_DONE) return st.Error("delete");
  if (sqlite3_changes(db_) == 0) return NotFound("'" + std::string(id) + "' not found in " + table);
  return Status::Ok();
}

Status SqliteStore::NotChanged(const std::string& table, std::string_view id) {
  Statement st(db_, "SELECT 1 FROM " + table + " WHERE id = ?");
  RETURN_IF_ERROR(st.status());
  int rc = st.Bind(1, id).Step();
  if (rc == SQLITE_DONE) return NotFound("'" + std::string(id) + "' not found in " + table);
  if (rc != SQLITE_ROW) return st.Error("get");
  return FailedPrecondition("'" + std::string(id) + "' in " + table +
                            " was changed concurrently; read it again");
}

Status SqliteStore::UpdateIf(std::string_view collection, const Document& doc,
                             int64_t expected_revision) {
  ASSIGN_OR_RETURN(std::string table, Table(collection));
  std::lock_guard lock(mu_);
  {
    // CASE, not AND: json_type raises an error on malformed JSON.
    Statement check(db_, "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'object' END");
    RETURN_IF_ERROR(check.status());
    if (check.Bind(1, doc.json).Step() != SQLITE_ROW) return check.Error("update");
    if (check.Int(0) != 1) return InvalidArgument("document '" + doc.id + "' is not a JSON object");
  }
  Statement st(db_, "UPDATE " + table + " SET doc = json_set(?2, '$." + kRevisionField +
                        "', ?3 + 1) WHERE id = ?1 AND ifnull(json_extract(doc, '$." +
                        kRevisionField + "'), 0) = ?3");
  RETURN_IF_ERROR(st.status());
  if (st.Bind(1, doc.id).Bind(2, doc.json).Bind(3, expected_revision).Step() != SQLITE_DONE) {
    return st.Error("update");
  }
  return sqlite3_changes(db_) == 1 ? Status::Ok() : NotChanged(table, doc.id);
}

Status SqliteStore::DeleteIf(std::string_view collection, std::string_view id,
                             int64_t expected_revision) {
  ASSIGN_OR_RETURN(std::string table, Table(collection));
  std::lock_guard lock(mu_);
  Statement st(db_, "DELETE FROM " + table + " WHERE id = ?1 AND ifnull(json_extract(doc, '$." +
                        kRevisionField + "'), 0) = ?2");
  RETURN_IF_ERROR(st.status());
  if (st.Bind(1, id).Bind(2, expected_revision).Step() != SQLITE_DONE) {
    return st.Error("delete");
  }
  return sqlite3_changes(db_) == 1 ? Status::Ok() : NotChanged(table, id);
}

StatusOr<std::vector<Document>> SqliteStore::List(std::string_view collection,
                                                  const Filter& filter, int64_t limit) {
  ASSIGN_OR_RETURN(std::string table, Table(collection));
  if (!filter.field.empty() && !IsSafeField(filter.field)) {
    return InvalidArgument("invalid filter field '" + filter.field + "'");
  }
  std::string sql = "SELECT id, doc FROM " + table;
  if (!filter.field.empty()) sql += " WHERE json_extract(doc, '$." + filter.field + "') = ?1";
  sql += " ORDER BY id LIMIT ?2";
  std::lock_guard lock(mu_);
  Statement st(db_, sql);
  RETURN_IF_ERROR(st.status());
  if (!filter.field.empty()) st.Bind(1, filter.value);
  st.Bind(2, limit > 0 ? limit : int64_t{-1});
  std::vector<Document> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back({st.Text(0), st.Text(1)});
  if (rc != SQLITE_DONE) return st.Error("list");
  return out;
}

StatusOr<int64_t> SqliteStore::InsertMany(std::string_view collection,
                                          const std::vector<Document>& docs) {
  ASSIGN_OR_RETURN(std::string table, Table(collection));
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Statement st(db_, "INSERT OR IGNORE INTO " + table + " (id, doc) VALUES (?, ?)");
  int64_t added = 0;
  Status status = st.status();
  for (size_t i = 0; status.ok() && i < docs.size(); ++i) {
    if (st.Bind(1, docs[i].id).Bind(2, docs[i].json).Step() != SQLITE_DONE) {
      status = st.Error("insert many");
      break;
    }
    added += sqlite3_changes(db_);
    st.Reset();
  }
  if (!status.ok()) {
    (void)Exec("ROLLBACK");
    return status;
  }
  RETURN_IF_ERROR(Exec("COMMIT"));
  return added;
}

StatusOr<int64_t> SqliteStore::Count(std::string_view collection) {
  ASSIGN_OR_RETURN(std::string table, Table(collection));
  std::lock_guard lock(mu_);
  Statement st(db_, "SELECT count(*) FROM " + table);
  RETURN_IF_ERROR(st.status());
  if (st.Step() != SQLITE_ROW) return st.Error("count");
  return st.Int(0);
}

Status SqliteStore::PutBlob(std::string_view id, std::string_view bytes) {
  std::lock_guard lock(mu_);
  Statement st(db_, "INSERT OR REPLACE INTO blobs (id, data) VALUES (?, ?)");
  RETURN_IF_ERROR(st.status());
  return st.Bind(1, id).BindBlob(2, bytes).Step() == SQLITE_DONE ? Status::Ok()
                                                                  : st.Error("put blob");
}

StatusOr<std::string> SqliteStore::GetBlob(std::string_view id) {
  std::lock_guard lock(mu_);
  Statement st(db_, "SELECT data FROM blobs WHERE id = ?");
  RETURN_IF_ERROR(st.status());
  int rc = st.Bind(1, id).Step();
  if (rc == SQLITE_ROW) return st.Text(0);
  if (rc == SQLITE_DONE) return NotFound("blob '" + std::string(id) + "' not found");
  return st.Error("get blob");
}

Status SqliteStore::DeleteBlob(std::string_view id) {
  std::lock_guard lock(mu_);
  Statement st(db_, "DELETE FROM blobs WHERE id = ?");
  RETURN_IF_ERROR(st.status());
  if (st.Bind(1, id).Step() != SQLITE_DONE) return st.Error("delete blob");
  if (sqlite3_changes(db_) == 0) return NotFound("blob '" + std::string(id) + "' not found");
  return Status::Ok();
}

StatusOr<std::vector<std::string>> SqliteStore::ListBlobs(std::string_view id_prefix) {
  std::lock_guard lock(mu_);
  Statement st(db_, "SELECT id FROM blobs WHERE substr(id, 1, ?1) = ?2 ORDER BY id");
  RETURN_IF_ERROR(st.status());
  st.Bind(1, static_cast<int64_t>(id_prefix.size())).Bind(2, id_prefix);
  std::vector<std::string> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(st.Text(0));
  if (rc != SQLITE_DONE) return st.Error("list blobs");
  return out;
}

}  // namespace inferd::store
