// Datasets: versioned records of training data, compatible with DVC's hashes,
// with the statistical profile that drift detection compares live traffic to.
//
// A dataset is one CSV file, or many files: a folder, a glob, or a list. A
// version records its DVC md5 (one file: the file's md5; many: DVC's ".dir"
// hash over the files), size, rows, each file (relative path, md5, size,
// rows), columns and types, and a profile per column: numeric columns get
// missing share, min/max/mean/std, the 0..100th percentiles and a 10-bin
// histogram on decile edges; categorical columns get missing share and
// category frequencies. Adding data whose md5 equals the latest version's
// returns that version instead of a new one.
//
// A large dataset is added in shards: N processes (the pods of a Kubernetes
// Indexed Job) each take a part of its files, validate and profile them and
// write their columnar copies (train/columnar.h), and record a shard; the last
// shard to finish (or `MergeShards`) merges the shard profiles into the
// version. Profiles are built from ColumnSummary (train/column_summary.h), so
// the merged profile is exactly the one a single process computes over the
// same rows.
//
// Documents: `datasets`, keyed "<name>@<version as 10 digits>", with a `name`
// field; shards keyed "<name>#<run>#<index>-of-<count>" with a `shard_of`
// field "<name>#<run>", their column summaries in the blob
// "dataset-shards/<name>/<run>/<index>-of-<count>". Thread-safe (state lives in
// the Store).
#pragma once

#include <cstdint>
#include <functional>
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

// One file of a dataset.
struct DatasetFile {
  std::string relpath;  // from the dataset's root, '/'-separated
  std::string md5;
  int64_t size = 0;
  bool data = false;  // a CSV file of rows (a folder's other files are only hashed)
  int64_t rows = 0;
};

struct DatasetVersion {
  std::string name;
  int64_t version = 0;
  std::string md5;  // DVC's: hex md5 of the file, or "<md5>.dir" for many files
  int64_t size = 0;
  int64_t rows = 0;
  std::string path;  // the file, or the folder the files' relpaths start from
  int64_t created = 0;
  std::vector<ColumnProfile> columns;
  std::vector<DatasetFile> files;  // by relpath; one entry for a one-file dataset
  std::string columnar_dir;        // where the files' columnar copies are ("": none)
  int64_t shards = 0;              // how many shards profiled it (0: older versions)

  // The data files, in relpath order (the order rows are numbered in).
  std::vector<DatasetFile> DataFiles() const;
  // Where file `f` is: `path` itself for a one-file dataset, else path/relpath.
  std::string FilePath(const DatasetFile& f) const;
};

// What `Datasets::AddShard` processes: shard `index` of `count` of the data
// named by `inputs` (one file, a folder, glob patterns, or a list of files).
struct ShardSpec {
  std::string name;
  std::vector<std::string> inputs;
  int index = 0;
  int count = 1;
  // Ties the shards of one run together: the Kubernetes Job's name, or ""
  // for a digest of the file listing (paths, sizes, modification times).
  std::string run;
  std::string columnar_dir;  // "": no columnar copies
  std::string dvc_file;      // the merged data must match this pointer
};

struct ShardOutcome {
  int64_t files = 0;  // files this shard processed
  int64_t rows = 0;
  // The dataset version, when this shard merged the shards (the last to
  // finish, or the only one).
  std::optional<DatasetVersion> merged;
};

// Progress lines for people watching a shard's log.
using DatasetProgress = std::function<void(const std::string& line)>;

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

// The files `inputs` name: one file (a one-file dataset, whose root is the
// file itself); one folder (every file under it, the *.csv ones as data, as
// DVC hashes a folder); or glob patterns and files (all data, relative to
// their longest common folder). Sorted by relpath, with sizes; md5 and rows
// unset. NotFound when an input matches nothing, InvalidArgument when two
// inputs name the same relpath.
struct DatasetListing {
  std::string root;
  bool single_file = false;
  std::vector<DatasetFile> files;
};
StatusOr<DatasetListing> ListDatasetFiles(const std::vector<std::string>& inputs);

// Every data file of `d` as one table, in relpath order: from the columnar
// copies in `columnar_dir` ("": the dataset's) where they are, else from the
// CSV files. FailedPrecondition when a file changed since `d` was recorded
// (for versions recorded before files were: when the data's md5 differs).
StatusOr<Table> ReadDataset(const DatasetVersion& d, const std::string& columnar_dir = "");

// DVC's ".dir" md5 over files with their md5s.
std::string DirMd5(const std::vector<DatasetFile>& files);

// Splits items with `weights` into `parts` contiguous runs of about equal
// weight: the part of each item (item i goes where the midpoint of its weight
// falls). Parts may be empty when there are fewer items than parts.
std::vector<int> SplitContiguous(const std::vector<int64_t>& weights, int parts);

class Datasets {
 public:
  Datasets(store::Store* store, const Clock* clock) : store_(store), clock_(clock) {}

  // Records `path` (a CSV file, or a folder of them) as the next version of dataset `name`, or
  // returns the latest version when its md5 is the same. With `dvc_file`, the
  // data must match the pointer's md5 (and size) or FailedPrecondition says so.
  // InvalidArgument, naming file, line and column, for data that is not CSV
  // or a column that holds numbers in some files and text in others.
  StatusOr<DatasetVersion> Add(const std::string& name, const std::string& path,
                               const std::string& dvc_file = "");
  // Processes one shard (files split among the shards in contiguous runs of
  // about equal bytes): hashes its files, validates and profiles the CSV ones,
  // writes their columnar copies, and records the shard. With count 1 the
  // version is recorded at once (as Add, plus the columnar copies); otherwise
  // the shard that finds every shard of its run recorded merges them. Errors
  // as Add; the shard is not recorded then.
  StatusOr<ShardOutcome> AddShard(const ShardSpec& spec, const DatasetProgress& progress);
  // Merges the `count` shards of `run` of dataset `name` into a version (the
  // one already recorded when it has the same md5). FailedPrecondition naming
  // the shards not yet recorded; InvalidArgument when the shards disagree
  // (columns, types, files).
  StatusOr<DatasetVersion> MergeShards(const std::string& name, const std::string& run, int count,
                                       const std::string& dvc_file = "");
  // version 0: the latest. NotFound when absent.
  StatusOr<DatasetVersion> Get(const std::string& name, int64_t version = 0);
  StatusOr<std::vector<DatasetVersion>> List(const std::string& name);

 private:
  // Inserts `d` as the next version of its dataset, or returns the latest (or
  // a concurrently recorded) version with the same md5.
  StatusOr<DatasetVersion> Record(DatasetVersion d);

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
