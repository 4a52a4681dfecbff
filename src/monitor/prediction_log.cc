#include "monitor/prediction_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/json_writer.h"

namespace inferd::monitor {
namespace {

std::mt19937_64& ThreadRandom() {
  thread_local std::mt19937_64 random(std::random_device{}());
  return random;
}

}  // namespace

std::string NewPredictionId() {
  // 12 hex digits of milliseconds, then 20 random ones: unique, and in time
  // order, so stores append to their id index instead of splitting it.
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t ms = static_cast<uint64_t>(SystemClock::Get()->NowMillis());
  std::string id(32, '0');
  for (int i = 0; i < 12; ++i) id[i] = kHex[(ms >> (4 * (11 - i))) & 0xF];
  uint64_t a = ThreadRandom()(), b = ThreadRandom()();
  for (int i = 0; i < 16; ++i) id[12 + i] = kHex[(a >> (4 * i)) & 0xF];
  for (int i = 0; i < 4; ++i) id[28 + i] = kHex[(b >> (4 * i)) & 0xF];
  return id;
}

std::string MatrixToJson(const float* values, int64_t rows, int64_t cols) {
  std::string out;
  out.reserve(static_cast<size_t>(rows * cols) * 10 + 32);
  JsonWriter json(&out);
  json.BeginObject().Key("shape").BeginArray().Int(rows).Int(cols).EndArray();
  json.Key("data").BeginArray();
  for (int64_t i = 0; i < rows * cols; ++i) json.Float(values[i]);
  json.EndArray().EndObject();
  return out;
}

std::string RecordToJson(const PredictionRecord& r) {
  std::string out;
  const int64_t rows = std::max<int64_t>(r.rows, 1);
  JsonWriter json(&out);
  json.BeginObject();
  json.Key("model").String(r.model).Key("version").Int(r.version);
  json.Key("time").Int(r.time_ms).Key("latency_us").Int(r.latency_us);
  json.Key("kind").String(r.kind);
  json.Key("inputs").Raw(MatrixToJson(r.inputs.data(), r.rows,
                                      static_cast<int64_t>(r.inputs.size()) / rows));
  json.Key("outputs").Raw(MatrixToJson(r.outputs.data(), r.rows,
                                       static_cast<int64_t>(r.outputs.size()) / rows));
  json.EndObject();
  return out;
}

StatusOr<std::unique_ptr<PredictionLog>> PredictionLog::Create(store::Store* store,
                                                               const Options& options) {
  if (options.spool_path.empty()) return InvalidArgument("the prediction log needs a spool path");
  if (options.sample_rate < 0 || options.sample_rate > 1) {
    return InvalidArgument("the prediction log sample rate must be in [0, 1]");
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(options.spool_path).parent_path(), ec);
  std::ofstream touch(options.spool_path, std::ios::app);
  if (!touch) return Unavailable("cannot write the prediction spool " + options.spool_path);
  std::unique_ptr<PredictionLog> log(new PredictionLog(store, options));
  log->spool_bytes_ = static_cast<int64_t>(std::filesystem::file_size(options.spool_path, ec));
  log->writer_ = std::thread([raw = log.get()] { raw->Run(); });
  return log;
}

PredictionLog::PredictionLog(store::Store* store, Options options)
    : store_(store), options_(std::move(options)) {}

PredictionLog::~PredictionLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

bool PredictionLog::Sampled() const {
  if (options_.sample_rate >= 1) return true;
  if (options_.sample_rate <= 0) return false;
  return std::uniform_real_distribution<double>(0, 1)(ThreadRandom()) < options_.sample_rate;
}

uint64_t RecordBytes(const PredictionRecord& record) {
  return sizeof(PredictionRecord) + record.id.size() + record.model.size() + record.kind.size() +
         sizeof(float) * (record.inputs.size() + record.outputs.size());
}

void PredictionLog::Record(PredictionRecord record) {
  const uint64_t bytes = RecordBytes(record);
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.queue_capacity ||
        queued_bytes_ + bytes > options_.queue_max_bytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queued_bytes_ += bytes;
    queue_.push_back(std::move(record));
    if (queue_.size() < options_.batch_size) return;
  }
  cv_.notify_one();
}

PredictionLogStats PredictionLog::stats() const {
  PredictionLogStats s;
  {
    std::lock_guard lock(mu_);
    s.queued = static_cast<int64_t>(queue_.size());
  }
  s.written = written_.load();
  s.spooled = spooled_.load();
  s.replayed = replayed_.load();
  s.dropped = dropped_.load();
  s.write_errors = write_errors_.load();
  s.spool_bytes = spool_bytes_.load();
  return s;
}

bool PredictionLog::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.notify_all();
  return cv_.wait_for(lock, timeout, [this] {
    return queue_.empty() && !busy_ && spool_bytes_.load() == 0;
  });
}

void PredictionLog::Run() {
  while (true) {
    std::vector<PredictionRecord> batch;
    bool stopping;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.flush_interval,
                   [this] { return stop_ || queue_.size() >= options_.batch_size; });
      while (!queue_.empty() && batch.size() < options_.batch_size) {
        queued_bytes_ -= RecordBytes(queue_.front());
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stopping = stop_ && queue_.empty();
      busy_ = true;
    }
    if (spool_bytes_.load() > 0 && std::chrono::steady_clock::now() >= next_ping_) {
      if (store_->Ping().ok()) {
        store_down_ = false;
        (void)Replay();
      } else {
        store_down_ = true;
        next_ping_ = std::chrono::steady_clock::now() + options_.retry_interval;
      }
    }
    if (!batch.empty()) WriteBatch(std::move(batch));
    {
      std::lock_guard lock(mu_);
      busy_ = false;
    }
    cv_.notify_all();
    if (stopping) return;
  }
}

void PredictionLog::WriteBatch(std::vector<PredictionRecord> batch) {
  if (!store_down_) {
    std::vector<store::Document> docs;
    docs.reserve(batch.size());
    for (const auto& r : batch) docs.push_back({r.id, RecordToJson(r)});
    auto inserted = store_->InsertMany(store::kPredictions, docs);
    if (inserted.ok()) {
      written_.fetch_add(*inserted);
      return;
    }
    write_errors_.fetch_add(1);
    spdlog::warn("prediction log: store write failed, spooling: {}", inserted.status().message());
    store_down_ = true;
    next_ping_ = std::chrono::steady_clock::now() + options_.retry_interval;
  }
  if (Status st = Spool(batch); !st.ok()) spdlog::error("prediction log: {}", st.message());
}

Status PredictionLog::Spool(const std::vector<PredictionRecord>& batch) {
  std::string lines;
  for (const auto& r : batch) lines += r.id + "\t" + RecordToJson(r) + "\n";
  if (static_cast<uint64_t>(spool_bytes_.load()) + lines.size() > options_.spool_max_bytes) {
    dropped_.fetch_add(static_cast<int64_t>(batch.size()));
    return ResourceExhausted("spool full (" + std::to_string(options_.spool_max_bytes) +
                             " bytes, --spool-max-bytes): dropped " +
                             std::to_string(batch.size()) + " records");
  }
  std::ofstream out(options_.spool_path, std::ios::app | std::ios::binary);
  out << lines;
  out.flush();
  if (!out) {
    dropped_.fetch_add(static_cast<int64_t>(batch.size()));
    return Unavailable("cannot append to the spool " + options_.spool_path);
  }
  spool_bytes_.fetch_add(static_cast<int64_t>(lines.size()));
  spooled_.fetch_add(static_cast<int64_t>(batch.size()));
  return Status::Ok();
}

Status PredictionLog::Replay() {
  std::ifstream in(options_.spool_path, std::ios::binary);
  std::string line;
  std::vector<store::Document> docs;
  auto flush = [&]() -> Status {
    if (docs.empty()) return Status::Ok();
    auto inserted = store_->InsertMany(store::kPredictions, docs);
    docs.clear();
    if (!inserted.ok()) {
      write_errors_.fetch_add(1);
      store_down_ = true;
      next_ping_ = std::chrono::steady_clock::now() + options_.retry_interval;
      return inserted.status();
    }
    replayed_.fetch_add(*inserted);
    return Status::Ok();
  };
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;  // a torn last line from a crash
    docs.push_back({line.substr(0, tab), line.substr(tab + 1)});
    if (docs.size() >= options_.batch_size) RETURN_IF_ERROR(flush());
  }
  RETURN_IF_ERROR(flush());
  in.close();
  std::ofstream(options_.spool_path, std::ios::trunc | std::ios::binary);
  spool_bytes_.store(0);
  spdlog::info("prediction log: spool replayed into the store");
  return Status::Ok();
}

}  // namespace inferd::monitor
