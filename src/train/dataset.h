// Datasets: versioned records of training data, compatible with DVC's hashes,
// with the statistical profile that drift detection compares live traffic to.
//
// A dataset version records the file's DVC md5 (a folder: DVC's ".dir" hash
// over its files), size, rows, columns and types, and a profile per column:
// numeric columns get missing share, min/max/mean/std, the 0..100th
// percentiles and a 10-bin histogram on decile edges; categorical columns get
// missing share and category frequencies. Adding a file whose md5 equals the
// latest version's returns that version instead of a new one.
//
// Documents: `datasets`, keyed "<name>@<version as 10 digits>", with a `name`
// field. Thread-safe (state lives in the Store).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"
#include "train/table.h"

namespace inferd::train {

struct ColumnProfile {
  std::string name;
  std::string type;  // "numeric" or "categorical"
  int64_t count = 0;  // non-missing values
  double missing_share = 0;
  double min = 0, max = 0, mean = 0, std = 0;
  std::vector<double> percentiles;      // 101 values: 0th..100th
  std::vector<double> histogram_edges;  // interior bin edges, ascending
  std::vector<int64_t> histogram_counts;  // edges.size() + 1 bins
  std::vector<std::pair<std::string, int64_t>> categories;  // most frequent first
};

struct DatasetVersion {
  std::string name;
  int64_t version = 0;
  std::string md5;  // DVC's: hex md5 of the file, or "<md5>.dir" for a folder
  int64_t size = 0;
  int64_t rows = 0;
  std::string path;  // where the data was read from
  int64_t created = 0;
  std::vector<ColumnProfile> columns;
};

// DVC's md5 of a file (of its bytes) or of a folder (md5 of the JSON list of
// {"md5", "relpath"} of its files, sorted by relpath, plus ".dir"); and the
// total size in bytes.
StatusOr<std::pair<std::string, int64_t>> DvcHash(const std::string& path);

// The first output of a .dvc pointer file: its md5, size and path (relative to
// the .dvc file's folder, resolved).
struct DvcPointer {
  std::string md5;
  int64_t size = -1;  // -1 when the file does not say
  std::string path;
};
StatusOr<DvcPointer> ReadDvcFile(const std::string& dvc_file);

// The profile of every column of `table`.
std::vector<ColumnProfile> ProfileTable(const Table& table);

class Datasets {
 public:
  Datasets(store::Store* store, const Clock* clock) : store_(store), clock_(clock) {}

  // Records `path` (a CSV file, or a folder of them) as the next version of dataset `name`, or
  // returns the latest version when its md5 is the same. With `dvc_file`, the
  // data must match the pointer's md5 (and size) or FailedPrecondition says so.
  StatusOr<DatasetVersion> Add(const std::string& name, const std::string& path,
                               const std::string& dvc_file = "");
  // version 0: the latest. NotFound when absent.
  StatusOr<DatasetVersion> Get(const std::string& name, int64_t version = 0);
  StatusOr<std::vector<DatasetVersion>> List(const std::string& name);

 private:
  store::Store* store_;
  const Clock* clock_;
};

std::string DatasetToJson(const DatasetVersion& dataset);
// One column profile as a JSON object, and back (used for datasets and for the
// prediction profile recorded with a trained model version).
std::string ColumnProfileToJson(const ColumnProfile& profile);
StatusOr<ColumnProfile> ColumnProfileFromJson(std::string_view json);
// Profiles one numeric column of values (NaN = missing).
ColumnProfile ProfileValues(const std::string& name, const std::vector<double>& values);
// Profiles one categorical column ("" = missing).
ColumnProfile ProfileCategories(const std::string& name, const std::vector<std::string>& values);
StatusOr<DatasetVersion> DatasetFromJson(const std::string& json);

// "name" or "name@3" -> (name, version; 0 = latest).
StatusOr<std::pair<std::string, int64_t>> ParseDatasetRef(const std::string& ref);

}  // namespace inferd::train
