#include "monitor/prediction_log.h"

#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>

#include "store/predictions.h"

namespace inferd::monitor {
namespace {

// How much of the spool a replay reads at a time.
constexpr size_t kSpoolReadChunk = 4 << 20;

std::mt19937_64& ThreadRandom() {
  thread_local std::mt19937_64 random(std::random_device{}());
  return random;
}

}  // namespace

std::string NewPredictionId(int64_t time_ms) {
  // The time first, so stores append to their id index and a time range is an
  // id range; then a process-wide sequence number, so one process's ids of the
  // same millisecond keep their order; then 48 bits drawn once per process, so
  // that processes do not collide.
  static constexpr char kHex[] = "0123456789abcdef";
  static std::atomic<uint32_t> sequence{0};
  static const uint64_t process_bits = std::random_device{}() ^
                                       (uint64_t{std::random_device{}()} << 32);
  std::string id = store::PredictionIdPrefix(time_ms);
  id.resize(32);
  const uint32_t n = sequence.fetch_add(1, std::memory_order_relaxed);
  for (int i = 0; i < 8; ++i) id[12 + i] = kHex[(n >> (4 * (7 - i))) & 0xF];
  for (int i = 0; i < 12; ++i) id[20 + i] = kHex[(process_bits >> (4 * i)) & 0xF];
  return id;
}

namespace {

template <typename T>
void Put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
bool Take(std::string_view* in, T* value) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(value, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

void PutString(std::string* out, const std::string& s) {
  Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

bool TakeString(std::string_view* in, std::string* s) {
  uint32_t size = 0;
  if (!Take(in, &size) || in->size() < size) return false;
  s->assign(in->data(), size);
  in->remove_prefix(size);
  return true;
}

bool TakeFloats(std::string_view* in, uint64_t count, std::vector<float>* values) {
  if (in->size() / sizeof(float) < count) return false;
  values->resize(count);
  if (count > 0) std::memcpy(values->data(), in->data(), count * sizeof(float));
  in->remove_prefix(count * sizeof(float));
  return true;
}

}  // namespace

namespace {

// The bytes before a frame's body: its length, and in v3 its checksum.
constexpr size_t kFramePrefix = 2 * sizeof(uint32_t);
constexpr size_t kFramePrefixV2 = sizeof(uint32_t);
static_assert(kSpoolHeader.size() == kSpoolHeaderV2.size());

uint32_t Crc32(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

bool ReadBody(std::string_view body, PredictionRecord* r) {
  uint64_t inputs = 0, outputs = 0;
  return TakeString(&body, &r->id) && TakeString(&body, &r->model) && TakeString(&body, &r->kind) &&
         Take(&body, &r->version) && Take(&body, &r->time_ms) && Take(&body, &r->latency_us) &&
         Take(&body, &r->rows) && Take(&body, &inputs) && Take(&body, &outputs) &&
         TakeFloats(&body, inputs, &r->inputs) && TakeFloats(&body, outputs, &r->outputs) &&
         body.empty() &&
         // A record the store refuses would fail its whole replay batch at every retry.
         store::CheckPredictionRecord(*r).ok();
}

enum class Frame { kRecord, kShort, kDamaged };

// Reads the frame at the front of `in` (v3 when `checksummed`, else v2) and
// advances past it when whole. On kShort, `*needed` is the frame's size as far
// as its prefix tells (the prefix alone when even that is cut).
Frame ReadFrame(std::string_view* in, bool checksummed, PredictionRecord* r, uint64_t* needed) {
  std::string_view frame = *in;
  const size_t prefix = checksummed ? kFramePrefix : kFramePrefixV2;
  uint32_t length = 0, crc = 0;
  *needed = prefix;
  if (!Take(&frame, &length) || (checksummed && !Take(&frame, &crc))) return Frame::kShort;
  *needed = prefix + uint64_t{length};
  if (frame.size() < length) return Frame::kShort;
  const std::string_view body = frame.substr(0, length);
  if ((checksummed && Crc32(body) != crc) || !ReadBody(body, r)) return Frame::kDamaged;
  in->remove_prefix(prefix + length);
  return Frame::kRecord;
}

enum class SpoolFormat { kEmpty, kCurrent, kV2, kJsonLines, kTornHeader };

const char* FormatName(SpoolFormat format) {
  switch (format) {
    case SpoolFormat::kEmpty:
      return "empty";
    case SpoolFormat::kCurrent:
      return "v3";
    case SpoolFormat::kV2:
      return "v2 (no checksums)";
    case SpoolFormat::kJsonLines:
      return "JSON lines";
    case SpoolFormat::kTornHeader:
      return "a torn header";
  }
  return "?";
}

struct SpoolScan {
  SpoolFormat format = SpoolFormat::kEmpty;
  uint64_t file_bytes = 0;
  uint64_t good_bytes = 0;  // the header and every whole record: where the tail starts
  int64_t records = 0;
  int64_t bad_lines = 0;  // JSON lines that did not parse (skipped)
};

// The format of the spool at `path` by its first line; kEmpty when there is no file.
SpoolFormat DetectSpoolFormat(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string header(kSpoolHeader.size(), '\0');
  in.read(header.data(), static_cast<std::streamsize>(header.size()));
  header.resize(static_cast<size_t>(in.gcount()));
  if (header.empty()) return SpoolFormat::kEmpty;
  if (header == kSpoolHeader) return SpoolFormat::kCurrent;
  if (header == kSpoolHeaderV2) return SpoolFormat::kV2;
  // A crash while the first batch was appended.
  if (kSpoolHeader.starts_with(header)) return SpoolFormat::kTornHeader;
  return SpoolFormat::kJsonLines;
}

// Calls `each` for every whole record of the spool at `path`, in any format an
// inferd wrote, in order; stops at the first error `each` returns. Reads a
// chunk at a time: memory is bounded by the chunk and the largest record (a
// frame longer than the rest of the file is a torn tail, never waited for).
StatusOr<SpoolScan> ScanSpool(const std::string& path,
                              const std::function<Status(PredictionRecord)>& each) {
  SpoolScan scan;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unavailable("cannot read the spool " + path);
  std::error_code ec;
  scan.file_bytes = std::filesystem::file_size(path, ec);
  if (ec) return Unavailable("cannot read the spool " + path + ": " + ec.message());
  scan.format = DetectSpoolFormat(path);
  if (scan.format == SpoolFormat::kEmpty || scan.format == SpoolFormat::kTornHeader) return scan;
  if (scan.format == SpoolFormat::kCurrent || scan.format == SpoolFormat::kV2) {
    const bool checksummed = scan.format == SpoolFormat::kCurrent;
    scan.good_bytes = kSpoolHeader.size();
    in.seekg(static_cast<std::streamoff>(scan.good_bytes));
    std::string buffer;
    PredictionRecord r;
    while (true) {  // `buffer` holds the file from good_bytes on
      std::string_view rest = buffer;
      uint64_t needed = 0;
      Frame frame;
      while ((frame = ReadFrame(&rest, checksummed, &r, &needed)) == Frame::kRecord) {
        ++scan.records;
        RETURN_IF_ERROR(each(std::move(r)));
      }
      scan.good_bytes += buffer.size() - rest.size();
      buffer.erase(0, buffer.size() - rest.size());
      if (frame == Frame::kDamaged || !in || scan.good_bytes + needed > scan.file_bytes) break;
      const size_t kept = buffer.size();  // read straight into the buffer: no second copy
      buffer.resize(kept + kSpoolReadChunk);
      in.read(buffer.data() + kept, static_cast<std::streamsize>(kSpoolReadChunk));
      buffer.resize(kept + static_cast<size_t>(in.gcount()));
    }
    return scan;
  }
  // JSON lines "<id>\t<document>" from an inferd before the binary spool.
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // no newline: a torn last line from a crash
    scan.good_bytes += line.size() + 1;
    const size_t tab = line.find('\t');
    auto r = tab == std::string::npos
                 ? StatusOr<PredictionRecord>(InvalidArgument("no tab"))
                 : store::PredictionFromLegacyJson(line.substr(0, tab),
                                                   std::string_view(line).substr(tab + 1));
    if (!r.ok()) {
      ++scan.bad_lines;
      spdlog::warn("prediction log: skipped a spooled record: {}", r.status().message());
      continue;
    }
    ++scan.records;
    RETURN_IF_ERROR(each(std::move(r).value()));
  }
  return scan;
}

}  // namespace

void AppendSpoolRecord(const PredictionRecord& r, std::string* out) {
  const size_t start = out->size();
  Put<uint32_t>(out, 0);  // the length and the checksum, filled in below
  Put<uint32_t>(out, 0);
  PutString(out, r.id);
  PutString(out, r.model);
  PutString(out, r.kind);
  Put<int64_t>(out, r.version);
  Put<int64_t>(out, r.time_ms);
  Put<int64_t>(out, r.latency_us);
  Put<int64_t>(out, r.rows);
  Put<uint64_t>(out, r.inputs.size());
  Put<uint64_t>(out, r.outputs.size());
  out->append(reinterpret_cast<const char*>(r.inputs.data()), r.inputs.size() * sizeof(float));
  out->append(reinterpret_cast<const char*>(r.outputs.data()), r.outputs.size() * sizeof(float));
  const std::string_view body = std::string_view(*out).substr(start + kFramePrefix);
  const auto length = static_cast<uint32_t>(body.size());
  const uint32_t crc = Crc32(body);
  std::memcpy(out->data() + start, &length, sizeof(length));
  std::memcpy(out->data() + start + sizeof(length), &crc, sizeof(crc));
}

bool ReadSpoolRecord(std::string_view* in, PredictionRecord* r) {
  uint64_t needed = 0;
  return ReadFrame(in, /*checksummed=*/true, r, &needed) == Frame::kRecord;
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
  log->prober_ = std::thread([raw = log.get()] { raw->Probe(); });
  // Named, so that its CPU time can be read per thread (bench/load.py, top -H).
  pthread_setname_np(log->writer_.native_handle(), "predlog-writer");
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
  probe_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (prober_.joinable()) prober_.join();
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
    if (queue_.size() + in_hand_ >= options_.queue_capacity ||
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
    s.queued = static_cast<int64_t>(queue_.size() + in_hand_);
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
  if (Status st = RecoverSpool(); !st.ok()) spdlog::error("prediction log: {}", st.message());
  while (true) {
    std::vector<PredictionRecord> batch;
    uint64_t batch_bytes = 0;
    bool stopping;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.flush_interval,
                   [this] { return stop_ || queue_.size() >= options_.batch_size; });
      while (!queue_.empty() && batch.size() < options_.batch_size) {
        batch_bytes += RecordBytes(queue_.front());
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      // Records in hand still count against the queue's limits until written,
      // so that those limits bound what a crash can lose.
      in_hand_ = batch.size();
      stopping = stop_ && queue_.empty();
      busy_ = true;
    }
    if (spool_bytes_.load() > 0 && !store_down_.load()) (void)Replay();
    if (!batch.empty()) WriteBatch(std::move(batch));
    {
      std::lock_guard lock(mu_);
      in_hand_ = 0;
      queued_bytes_ -= batch_bytes;
      busy_ = false;
    }
    cv_.notify_all();
    if (stopping) return;
  }
}

void PredictionLog::Probe() {
  std::unique_lock lock(mu_);
  while (!probe_cv_.wait_for(lock, options_.retry_interval, [this] { return stop_; })) {
    if (!store_down_.load()) continue;
    lock.unlock();
    const bool up = store_->Ping().ok();
    lock.lock();
    if (up) store_down_ = false;  // the writer replays the spool on its next turn
  }
}

void PredictionLog::WriteBatch(std::vector<PredictionRecord> batch) {
  if (!store_down_) {
    auto inserted = store_->InsertPredictions(batch);
    if (inserted.ok()) {
      written_.fetch_add(*inserted);
      return;
    }
    write_errors_.fetch_add(1);
    spdlog::warn("prediction log: store write failed, spooling: {}", inserted.status().message());
    store_down_ = true;
  }
  if (Status st = Spool(batch); !st.ok()) spdlog::error("prediction log: {}", st.message());
}

Status PredictionLog::Spool(const std::vector<PredictionRecord>& batch) {
  std::string frames;
  if (spool_bytes_.load() == 0) frames = kSpoolHeader;
  for (const auto& r : batch) AppendSpoolRecord(r, &frames);
  if (static_cast<uint64_t>(spool_bytes_.load()) + frames.size() > options_.spool_max_bytes) {
    dropped_.fetch_add(static_cast<int64_t>(batch.size()));
    return ResourceExhausted("spool full (" + std::to_string(options_.spool_max_bytes) +
                             " bytes, --spool-max-bytes): dropped " +
                             std::to_string(batch.size()) + " records");
  }
  std::ofstream out(options_.spool_path, std::ios::app | std::ios::binary);
  out << frames;
  out.flush();
  if (!out) {
    // Cut off what part of the batch was written, so that later appends
    // follow a whole record.
    out.close();
    std::error_code ec;
    std::filesystem::resize_file(options_.spool_path, static_cast<uint64_t>(spool_bytes_.load()),
                                 ec);
    dropped_.fetch_add(static_cast<int64_t>(batch.size()));
    return Unavailable("cannot append to the spool " + options_.spool_path);
  }
  spool_bytes_.fetch_add(static_cast<int64_t>(frames.size()));
  spooled_.fetch_add(static_cast<int64_t>(batch.size()));
  return Status::Ok();
}

Status PredictionLog::ReplayBatch(const std::vector<PredictionRecord>& batch) {
  if (batch.empty()) return Status::Ok();
  auto inserted = store_->InsertPredictions(batch);
  if (!inserted.ok()) {
    write_errors_.fetch_add(1);
    store_down_ = true;
    return inserted.status();
  }
  replayed_.fetch_add(*inserted);
  return Status::Ok();
}

Status PredictionLog::RecoverSpool() {
  const std::string& path = options_.spool_path;
  const SpoolFormat format = DetectSpoolFormat(path);
  const bool current = format == SpoolFormat::kCurrent || format == SpoolFormat::kTornHeader;
  // An older format is rewritten in the current one, then renamed over it, so
  // that a crash meanwhile leaves the old spool whole.
  const std::string converted = path + ".converting";
  std::ofstream out;
  std::string frames(kSpoolHeader);
  if (!current && format != SpoolFormat::kEmpty) {
    out.open(converted, std::ios::trunc | std::ios::binary);
  }
  auto scan = ScanSpool(path, [&](PredictionRecord r) {
    if (current) return Status::Ok();
    AppendSpoolRecord(r, &frames);
    if (frames.size() >= kSpoolReadChunk) {
      out << frames;
      frames.clear();
    }
    return Status::Ok();
  });
  RETURN_IF_ERROR(scan.status());
  if (scan->good_bytes < scan->file_bytes) {
    spdlog::warn(
        "prediction log: skipped a torn spool tail of {} bytes at offset {} of {} ({}; "
        "the {} whole records before it are kept)",
        scan->file_bytes - scan->good_bytes, scan->good_bytes, path, FormatName(scan->format),
        scan->records);
  }
  std::error_code ec;
  if (current) {
    const uint64_t keep = scan->records > 0 ? scan->good_bytes : 0;
    if (keep < scan->file_bytes) std::filesystem::resize_file(path, keep, ec);
    if (ec) return Unavailable("cannot cut the torn spool tail of " + path + ": " + ec.message());
  } else if (format != SpoolFormat::kEmpty) {
    out << frames;
    out.close();
    if (!out) return Unavailable("cannot write " + converted);
    std::filesystem::rename(converted, path, ec);
    if (ec) return Unavailable("cannot replace " + path + ": " + ec.message());
    spdlog::info("prediction log: rewrote the spool from {} to v3 ({} records)", FormatName(format),
                 scan->records);
  }
  spool_bytes_.store(static_cast<int64_t>(std::filesystem::file_size(path, ec)));
  return Status::Ok();
}

Status PredictionLog::Replay() {
  std::vector<PredictionRecord> batch;
  auto scan = ScanSpool(options_.spool_path, [&](PredictionRecord r) -> Status {
    batch.push_back(std::move(r));
    if (batch.size() < options_.batch_size) return Status::Ok();
    Status st = ReplayBatch(batch);
    batch.clear();
    return st;
  });
  RETURN_IF_ERROR(scan.status());
  RETURN_IF_ERROR(ReplayBatch(batch));
  if (scan->good_bytes < scan->file_bytes) {
    spdlog::warn("prediction log: skipped a damaged spool tail of {} bytes at offset {}",
                 scan->file_bytes - scan->good_bytes, scan->good_bytes);
  }
  std::ofstream(options_.spool_path, std::ios::trunc | std::ios::binary);
  spool_bytes_.store(0);
  spdlog::info("prediction log: spool replayed into the store ({} records)", scan->records);
  // The replay's buffers, and the queue that built up while the store was
  // away, were freed in the middle of malloc's heaps, which keep such pages:
  // handing them back keeps an outage from raising the resident set for good
  // (bench/soak.py measured +17 MB after a 30 s outage without this).
  malloc_trim(0);
  return Status::Ok();
}

}  // namespace inferd::monitor
