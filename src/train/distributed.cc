#include "train/distributed.h"

#include <xgboost/c_api.h>

#include <cmath>

#include "common/json_writer.h"
#include "train/columnar.h"

namespace inferd::train {
namespace {

// libxgboost 1.7's collective enums (src/collective/communicator.h, not
// installed): DataType::kDouble and Operation::kMax / kSum.
constexpr int kXgbDouble = 7;
constexpr int kXgbMax = 0;
constexpr int kXgbSum = 2;

uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

bool InHoldout(uint64_t seed, int64_t row, double valid_fraction) {
  const uint64_t h = Mix(seed + 0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(row) + 1));
  return static_cast<double>(h >> 11) * 0x1.0p-53 < valid_fraction;
}

StatusOr<std::vector<WorkerFile>> WorkerFiles(const DatasetVersion& dataset, int index,
                                              int workers) {
  const std::vector<DatasetFile> files = dataset.DataFiles();
  if (files.empty()) {
    return FailedPrecondition("dataset " + dataset.name + "@" + std::to_string(dataset.version) +
                              " records no files: add it again with this version of inferd");
  }
  if (workers > static_cast<int>(files.size())) {
    return InvalidArgument("dataset " + dataset.name + " has " + std::to_string(files.size()) +
                           " data file(s); " + std::to_string(workers) +
                           " workers would leave some without data (use at most " +
                           std::to_string(files.size()) + ")");
  }
  std::vector<int64_t> rows;
  for (const auto& f : files) rows.push_back(f.rows);
  const std::vector<int> part = SplitContiguous(rows, workers);
  std::vector<WorkerFile> out;
  int64_t first_row = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    if (part[i] == index) out.push_back({files[i], first_row});
    first_row += files[i].rows;
  }
  if (out.empty()) {
    return InvalidArgument("worker " + std::to_string(index) + " of " + std::to_string(workers) +
                           " gets no file of " + dataset.name + " (its files are too uneven)");
  }
  return out;
}

StatusOr<TrainingRows> ReadWorkerRows(const DatasetVersion& dataset,
                                      const std::vector<WorkerFile>& files,
                                      const TrainOptions& options,
                                      const std::string& columnar_dir) {
  int target = -1;
  std::vector<std::string> names;
  for (size_t c = 0; c < dataset.columns.size(); ++c) {
    names.push_back(dataset.columns[c].name);
    if (dataset.columns[c].name == options.target) target = static_cast<int>(c);
  }
  if (target < 0) {
    std::string all;
    for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
    return InvalidArgument("target column '" + options.target + "' is not in the data (" + all +
                           ")");
  }
  TrainingRows rows;
  for (size_t c = 0; c < dataset.columns.size(); ++c) {
    const ColumnProfile& p = dataset.columns[c];
    if (p.type != "numeric") {
      const std::string example =
          p.categories.empty() ? "" : " (e.g. '" + p.categories[0].first + "')";
      return InvalidArgument("column '" + p.name + "' holds text" + example + ": " +
                             (static_cast<int>(c) == target ? "the target" : "feature") +
                             " columns must be numeric");
    }
    if (static_cast<int>(c) != target) rows.feature_names.push_back(p.name);
  }
  if (rows.feature_names.empty()) {
    return InvalidArgument("the data has no feature columns besides the target");
  }
  const std::string dir = columnar_dir.empty() ? dataset.columnar_dir : columnar_dir;
  // Exact sizes up front: growing by doubling would hold up to twice the rows for a moment.
  size_t holdout = 0, total = 0;
  for (const WorkerFile& wf : files) {
    for (int64_t r = 0; r < wf.file.rows; ++r) {
      holdout += InHoldout(options.seed, wf.first_row + r, options.valid_fraction);
    }
    total += static_cast<size_t>(wf.file.rows);
  }
  const size_t width = rows.feature_names.size();
  rows.train_x.reserve((total - holdout) * width);
  rows.train_y.reserve(total - holdout);
  rows.valid_x.reserve(holdout * width);
  rows.valid_y.reserve(holdout);
  for (const WorkerFile& wf : files) {
    const DatasetFile& f = wf.file;
    // The file's columns: from its columnar copy, else parsed from the CSV file.
    std::unique_ptr<ColumnarFile> copy;
    Table table;
    if (!dir.empty()) {
      auto opened = ColumnarFile::Open(ColumnarPath(dir, f.md5));
      if (opened.ok() && (*opened)->source_md5() == f.md5 && (*opened)->rows() == f.rows) {
        copy = std::move(*opened);
      }
    }
    if (copy == nullptr) {
      const std::string path = dataset.FilePath(f);
      ASSIGN_OR_RETURN(auto hash, DvcHash(path));
      if (hash.first != f.md5) {
        return FailedPrecondition("dataset " + dataset.name + "@" +
                                  std::to_string(dataset.version) + " was recorded from " + path +
                                  " with md5 " + f.md5 + ", but that file now has md5 " +
                                  hash.first);
      }
      ASSIGN_OR_RETURN(table, ReadCsv(path));
    }
    std::vector<std::string> file_names;
    if (copy) {
      file_names = copy->column_names();
    } else {
      for (const auto& c : table.columns) file_names.push_back(c.name);
    }
    if (file_names != names) {
      return FailedPrecondition(f.relpath + " has other columns than dataset " + dataset.name +
                                " records");
    }
    const int64_t n = copy ? copy->rows() : table.rows;
    std::vector<const double*> columns;
    for (size_t c = 0; c < names.size(); ++c) {
      const double* values =
          copy ? copy->numeric(c)
               : (table.columns[c].numeric ? table.columns[c].values.data() : nullptr);
      if (values == nullptr) {
        return InvalidArgument(f.relpath + ": column '" + names[c] + "' holds text");
      }
      columns.push_back(values);
    }
    auto line = [&](int64_t r) { return copy ? copy->line(r) : table.lines[r]; };
    const size_t features = rows.feature_names.size();
    for (int64_t r = 0; r < n; ++r) {
      const double y = columns[target][r];
      if (std::isnan(y)) {
        return InvalidArgument(f.relpath + " line " + std::to_string(line(r)) + ": target '" +
                               options.target + "' is missing");
      }
      const bool holdout = InHoldout(options.seed, wf.first_row + r, options.valid_fraction);
      auto& x = holdout ? rows.valid_x : rows.train_x;
      const size_t at = x.size();
      x.resize(at + features);
      size_t k = 0;
      for (size_t c = 0; c < columns.size(); ++c) {
        if (static_cast<int>(c) != target) x[at + k++] = static_cast<float>(columns[c][r]);
      }
      (holdout ? rows.valid_y : rows.train_y).push_back(static_cast<float>(y));
    }
  }
  return rows;
}

StatusOr<std::unique_ptr<XgbCommunicator>> XgbCommunicator::Init(const std::string& host, int port,
                                                                 int index, int workers) {
  std::string config;
  JsonWriter json(&config);
  json.BeginObject().Key("xgboost_communicator").String("rabit");
  json.Key("DMLC_TRACKER_URI").String(host);
  json.Key("DMLC_TRACKER_PORT").String(std::to_string(port));
  json.Key("DMLC_TASK_ID").String(std::to_string(index));
  json.Key("rabit_world_size").String(std::to_string(workers));
  json.EndObject();
  if (XGCommunicatorInit(config.c_str()) != 0) {
    return Unavailable(std::string("joining the training job failed: ") + XgbLastError());
  }
  std::unique_ptr<XgbCommunicator> communicator(new XgbCommunicator());
  communicator->rank_ = XGCommunicatorGetRank();
  communicator->world_size_ = XGCommunicatorGetWorldSize();
  if (communicator->rank_ != index || communicator->world_size_ != workers) {
    return Internal("the tracker gave worker " + std::to_string(index) + " rank " +
                    std::to_string(communicator->rank_) + " of " +
                    std::to_string(communicator->world_size_));
  }
  return communicator;
}

XgbCommunicator::~XgbCommunicator() { (void)Finalize(); }

Status XgbCommunicator::Finalize() {
  if (finalized_) return Status::Ok();
  finalized_ = true;
  if (XGCommunicatorFinalize() != 0) {
    return Unavailable(std::string("leaving the training job: ") + XgbLastError());
  }
  return Status::Ok();
}

Status XgbCommunicator::Sum(std::vector<double>* values) {
  if (XGCommunicatorAllreduce(values->data(), values->size(), kXgbDouble, kXgbSum) != 0) {
    return Unavailable(std::string("allreduce failed: ") + XgbLastError());
  }
  return Status::Ok();
}

Status XgbCommunicator::Max(std::vector<double>* values) {
  if (XGCommunicatorAllreduce(values->data(), values->size(), kXgbDouble, kXgbMax) != 0) {
    return Unavailable(std::string("allreduce failed: ") + XgbLastError());
  }
  return Status::Ok();
}

}  // namespace inferd::train
