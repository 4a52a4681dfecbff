#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <functional>

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
  // Binds bytes that stay valid and unchanged until the statement is reset.
  Statement& BindStaticBlob(int i, const void* bytes, size_t size) {
    sqlite3_bind_blob64(stmt_, i, size ? bytes : "", size, SQLITE_STATIC);
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
  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  // A BLOB column of little-endian float32s.
  std::vector<float> Floats(int column) const {
    const void* p = sqlite3_column_blob(stmt_, column);
    std::vector<float> out(static_cast<size_t>(sqlite3_column_bytes(stmt_, column)) / sizeof(float));
    if (p && !out.empty()) std::memcpy(out.data(), p, out.size() * sizeof(float));
    return out;
  }
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
  // The page size only takes on a new file, before WAL mode is set.
  RETURN_IF_ERROR(store->Exec("PRAGMA page_size=" + std::to_string(kPageSize)));
  RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"));
  RETURN_IF_ERROR(store->Exec("PRAGMA mmap_size=" + std::to_string(kMmapBytes) +
                              "; PRAGMA cache_size=-" + std::to_string(kCacheKiB)));
  RETURN_IF_ERROR(store->Exec("PRAGMA journal_size_limit=" + std::to_string(kJournalSizeLimit)));
  for (std::string_view collection : kCollections) {
    RETURN_IF_ERROR(store->Exec("CREATE TABLE IF NOT EXISTS " + std::string(collection) +
                                " (id TEXT PRIMARY KEY, doc TEXT NOT NULL)"));
  }
  RETURN_IF_ERROR(store->Exec(
      "CREATE TABLE IF NOT EXISTS blobs (id TEXT PRIMARY KEY, data BLOB NOT NULL);"
      "CREATE INDEX IF NOT EXISTS model_versions_name ON model_versions "
      "(json_extract(doc, '$.name'));"
      "CREATE INDEX IF NOT EXISTS datasets_name ON datasets (json_extract(doc, '$.name'));"
      "CREATE INDEX IF NOT EXISTS runs_experiment_id ON runs "
      "(json_extract(doc, '$.experiment_id'));"
      "CREATE INDEX IF NOT EXISTS metric_history_series ON metric_history "
      "(json_extract(doc, '$.series'));"
      "CREATE INDEX IF NOT EXISTS logged_models_experiment_id ON logged_models "
      "(json_extract(doc, '$.experiment_id'));"));
  RETURN_IF_ERROR(store->CreatePredictionSchema());
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

// The prediction log.

namespace {

constexpr char kPredictionColumns[] =
    "p.id, p.model, p.version, p.time, p.latency_us, p.kind, p.rows, p.inputs, p.outputs";
// A record's bytes as StoredPredictionBytes counts them; ?9 is its fixed part.
constexpr char kRecordBytesSql[] =
    "?9 + length(CAST(model AS BLOB)) + length(CAST(kind AS BLOB)) + length(inputs) + "
    "length(outputs)";

// The fixed part of StoredPredictionBytes.
int64_t FixedRecordBytes() { return StoredPredictionBytes(PredictionRecord{}); }

PredictionRecord ReadPrediction(const Statement& st) {
  PredictionRecord r;
  r.id = st.Text(0);
  r.model = st.Text(1);
  r.version = st.Int(2);
  r.time_ms = st.Int(3);
  r.latency_us = st.Int(4);
  r.kind = st.Text(5);
  r.rows = st.Int(6);
  r.inputs = st.Floats(7);
  r.outputs = st.Floats(8);
  return r;
}

}  // namespace

Status SqliteStore::CreatePredictionSchema() {
  bool legacy = false, legacy_kept = false;
  {
    Statement st(db_, "SELECT name FROM pragma_table_info('predictions') WHERE name = 'doc'");
    RETURN_IF_ERROR(st.status());
    legacy = st.Step() == SQLITE_ROW;
  }
  if (legacy) {
    RETURN_IF_ERROR(Exec("ALTER TABLE predictions RENAME TO predictions_json"));
  }
  {
    Statement st(db_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                      "'predictions_json'");
    RETURN_IF_ERROR(st.status());
    legacy_kept = st.Step() == SQLITE_ROW;
  }
  has_legacy_predictions_ = legacy_kept;
  RETURN_IF_ERROR(Exec(
      "CREATE TABLE IF NOT EXISTS predictions (id TEXT PRIMARY KEY, model TEXT NOT NULL, "
      "version INTEGER NOT NULL, time INTEGER NOT NULL, latency_us INTEGER NOT NULL, "
      "kind TEXT NOT NULL, rows INTEGER NOT NULL, inputs BLOB NOT NULL, outputs BLOB NOT NULL);"
      "CREATE INDEX IF NOT EXISTS predictions_model_id ON predictions (model, id);"
      "CREATE TABLE IF NOT EXISTS predictions_size (id INTEGER PRIMARY KEY CHECK (id = 0), "
      "records INTEGER NOT NULL, bytes INTEGER NOT NULL);"));
  Statement st(db_, "INSERT OR IGNORE INTO predictions_size (id, records, bytes) VALUES (0, 0, 0)");
  RETURN_IF_ERROR(st.status());
  return st.Step() == SQLITE_DONE ? Status::Ok() : st.Error("prediction size");
}

Status SqliteStore::AddToSize(const PredictionLogSize& delta) {
  if (delta.records == 0 && delta.bytes == 0) return Status::Ok();
  Statement st(db_, "UPDATE predictions_size SET records = records + ?1, bytes = bytes + ?2");
  RETURN_IF_ERROR(st.status());
  return st.Bind(1, delta.records).Bind(2, delta.bytes).Step() == SQLITE_DONE
             ? Status::Ok()
             : st.Error("prediction size");
}

Status SqliteStore::InsertPredictionsLocked(const std::vector<PredictionRecord>& records,
                                            PredictionLogSize* added) {
  Statement st(db_,
               "INSERT OR IGNORE INTO predictions (id, model, version, time, latency_us, kind, "
               "rows, inputs, outputs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  RETURN_IF_ERROR(st.status());
  for (const PredictionRecord& r : records) {
    st.Bind(1, r.id).Bind(2, r.model).Bind(3, r.version).Bind(4, r.time_ms);
    st.Bind(5, r.latency_us).Bind(6, r.kind).Bind(7, r.rows);
    st.BindStaticBlob(8, r.inputs.data(), r.inputs.size() * sizeof(float));
    st.BindStaticBlob(9, r.outputs.data(), r.outputs.size() * sizeof(float));
    if (st.Step() != SQLITE_DONE) return st.Error("insert predictions");
    if (sqlite3_changes(db_) == 1) {
      ++added->records;
      added->bytes += StoredPredictionBytes(r);
    }
    st.Reset();
  }
  return Status::Ok();
}

StatusOr<int64_t> SqliteStore::InTransaction(const std::function<StatusOr<int64_t>()>& write) {
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto result = write();
  if (!result.ok()) {
    (void)Exec("ROLLBACK");
    return result.status();
  }
  RETURN_IF_ERROR(Exec("COMMIT"));
  return result;
}

StatusOr<int64_t> SqliteStore::InsertPredictions(const std::vector<PredictionRecord>& records) {
  for (const PredictionRecord& r : records) RETURN_IF_ERROR(CheckPredictionRecord(r));
  if (records.empty()) return int64_t{0};
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> StatusOr<int64_t> {
    PredictionLogSize added;
    RETURN_IF_ERROR(InsertPredictionsLocked(records, &added));
    RETURN_IF_ERROR(AddToSize(added));
    return added.records;
  });
}

StatusOr<PredictionRecord> SqliteStore::GetPrediction(std::string_view id) {
  std::lock_guard lock(mu_);
  {
    Statement st(db_, std::string("SELECT ") + kPredictionColumns +
                          " FROM predictions p WHERE p.id = ?1");
    RETURN_IF_ERROR(st.status());
    int rc = st.Bind(1, id).Step();
    if (rc == SQLITE_ROW) return ReadPrediction(st);
    if (rc != SQLITE_DONE) return st.Error("get prediction");
  }
  if (has_legacy_predictions_) {
    Statement st(db_, "SELECT doc FROM predictions_json WHERE id = ?1");
    RETURN_IF_ERROR(st.status());
    int rc = st.Bind(1, id).Step();
    if (rc == SQLITE_ROW) return PredictionFromLegacyJson(std::string(id), st.Text(0));
    if (rc != SQLITE_DONE) return st.Error("get prediction");
  }
  return NotFound("prediction '" + std::string(id) + "' not found");
}

StatusOr<std::vector<PredictionRecord>> SqliteStore::ListPredictions(const PredictionQuery& q) {
  if (q.limit <= 0) return InvalidArgument("a prediction query needs a limit above 0");
  std::string sql = std::string("SELECT ") + kPredictionColumns;
  if (q.with_ground_truth) sql += ", f.doc -> '$.ground_truth'";
  sql += " FROM predictions p";
  if (q.with_ground_truth) sql += " LEFT JOIN feedback f ON f.id = p.id";
  sql += " WHERE p.id > ?1 AND p.id >= ?2";
  if (q.until_ms > 0) sql += " AND p.id < ?3";
  if (!q.model.empty()) sql += " AND p.model = ?4";
  if (q.version > 0) sql += " AND p.version = ?5";
  sql += " ORDER BY p.id LIMIT ?6";
  std::lock_guard lock(mu_);
  Statement st(db_, sql);
  RETURN_IF_ERROR(st.status());
  st.Bind(1, q.after_id).Bind(2, PredictionIdPrefix(q.since_ms));
  if (q.until_ms > 0) st.Bind(3, PredictionIdPrefix(q.until_ms));
  if (!q.model.empty()) st.Bind(4, q.model);
  if (q.version > 0) st.Bind(5, q.version);
  st.Bind(6, q.limit);
  std::vector<PredictionRecord> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back(ReadPrediction(st));
    if (q.with_ground_truth && !st.IsNull(9)) out.back().ground_truth = st.Text(9);
  }
  if (rc != SQLITE_DONE) return st.Error("list predictions");
  return out;
}

StatusOr<int64_t> SqliteStore::DeleteOldestPredictions(int64_t before_ms, int64_t limit) {
  if (limit <= 0) return int64_t{0};
  std::lock_guard lock(mu_);
  return InTransaction([&]() -> StatusOr<int64_t> {
    // The newest id of the batch: the limit-th oldest below the bound, or the
    // last one below it when there are fewer.
    std::string last;
    {
      Statement st(db_, "SELECT max(id) FROM (SELECT id FROM predictions WHERE id < ?1 "
                        "ORDER BY id LIMIT ?2)");
      RETURN_IF_ERROR(st.status());
      if (st.Bind(1, PredictionIdPrefix(before_ms)).Bind(2, limit).Step() != SQLITE_ROW) {
        return st.Error("delete predictions");
      }
      if (st.IsNull(0)) return int64_t{0};
      last = st.Text(0);
    }
    PredictionLogSize gone;
    {
      Statement st(db_, std::string("SELECT count(*), coalesce(sum(") + kRecordBytesSql +
                            "), 0) FROM predictions WHERE id <= ?1");
      RETURN_IF_ERROR(st.status());
      if (st.Bind(1, last).Bind(9, FixedRecordBytes()).Step() != SQLITE_ROW) {
        return st.Error("delete predictions");
      }
      gone = {st.Int(0), st.Int(1)};
    }
    Statement st(db_, "DELETE FROM predictions WHERE id <= ?1");
    RETURN_IF_ERROR(st.status());
    if (st.Bind(1, last).Step() != SQLITE_DONE) return st.Error("delete predictions");
    RETURN_IF_ERROR(AddToSize({-gone.records, -gone.bytes}));
    return gone.records;
  });
}

StatusOr<PredictionLogSize> SqliteStore::GetPredictionLogSize() {
  std::lock_guard lock(mu_);
  Statement st(db_, "SELECT records, bytes FROM predictions_size WHERE id = 0");
  RETURN_IF_ERROR(st.status());
  if (st.Step() != SQLITE_ROW) return st.Error("prediction size");
  return PredictionLogSize{st.Int(0), st.Int(1)};
}

Status SqliteStore::SetPredictionTtl(int64_t) {
  return Unimplemented("SQLite has no TTL indexes: inferd deletes expired predictions itself");
}

StatusOr<int64_t> SqliteStore::MigrateLegacyPredictions(int64_t limit) {
  std::lock_guard lock(mu_);
  if (!has_legacy_predictions_ || limit <= 0) return int64_t{0};
  return InTransaction([&]() -> StatusOr<int64_t> {
    std::vector<PredictionRecord> records;
    std::string last;
    {
      Statement st(db_, "SELECT id, doc FROM predictions_json ORDER BY id LIMIT ?1");
      RETURN_IF_ERROR(st.status());
      st.Bind(1, limit);
      int rc;
      while ((rc = st.Step()) == SQLITE_ROW) {
        last = st.Text(0);
        ASSIGN_OR_RETURN(PredictionRecord r, PredictionFromLegacyJson(last, st.Text(1)));
        records.push_back(std::move(r));
      }
      if (rc != SQLITE_DONE) return st.Error("migrate predictions");
    }
    // The emptied table stays (other processes may still look into it).
    if (records.empty()) return int64_t{0};
    PredictionLogSize added;
    RETURN_IF_ERROR(InsertPredictionsLocked(records, &added));
    RETURN_IF_ERROR(AddToSize(added));
    Statement st(db_, "DELETE FROM predictions_json WHERE id <= ?1");
    RETURN_IF_ERROR(st.status());
    if (st.Bind(1, last).Step() != SQLITE_DONE) return st.Error("migrate predictions");
    return static_cast<int64_t>(records.size());
  });
}

}  // namespace inferd::store
