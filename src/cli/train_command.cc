#include "cli/train_command.h"

#include <cstdio>
#include <filesystem>

#include "cli/models_command.h"
#include "common/clock.h"

namespace inferd::cli {
namespace {

std::string StemOf(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

void PrintDataset(const train::DatasetVersion& d) {
  std::printf("dataset %s@%lld md5 %s, %lld bytes, %lld rows, %zu columns", d.name.c_str(),
              static_cast<long long>(d.version), d.md5.c_str(), static_cast<long long>(d.size),
              static_cast<long long>(d.rows), d.columns.size());
  if (d.files.size() > 1) std::printf(", %zu files", d.files.size());
  if (d.shards > 1) std::printf(", %lld shards", static_cast<long long>(d.shards));
  std::printf("\n");
  std::fflush(stdout);
}

void PrintLine(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// "I/N" -> (I, N).
StatusOr<std::pair<int, int>> ParseShard(const std::string& text) {
  int index = -1, count = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%d/%d%c", &index, &count, &tail) != 2 || count < 1 || index < 0 ||
      index >= count) {
    return InvalidArgument("--shard " + text + ": expected I/N with 0 <= I < N, e.g. 2/8");
  }
  return std::pair{index, count};
}

}  // namespace

Status AddDataset(store::Store& store, const DatasetAddOptions& options) {
  train::Datasets datasets(&store, SystemClock::Get());
  std::vector<std::string> inputs = options.inputs;
  if (!options.dvc_file.empty() && inputs.empty()) {
    ASSIGN_OR_RETURN(auto pointer, train::ReadDvcFile(options.dvc_file));
    inputs.push_back(pointer.path);
  }
  if (inputs.empty()) return InvalidArgument("name the data: a CSV file, a folder or a glob");
  std::string name = options.name;
  if (name.empty()) {
    if (inputs.size() > 1 || inputs[0].find_first_of("*?[") != std::string::npos) {
      return InvalidArgument("give --name for a dataset of several files or a glob");
    }
    name = StemOf(std::filesystem::path(inputs[0]).lexically_normal().string());
    if (name.empty()) name = std::filesystem::path(inputs[0]).parent_path().filename().string();
  }
  train::ShardSpec spec{.name = name,
                        .inputs = inputs,
                        .run = options.run,
                        .columnar_dir = options.columnar_dir,
                        .dvc_file = options.dvc_file};
  if (!options.shard.empty()) {
    ASSIGN_OR_RETURN(auto shard, ParseShard(options.shard));
    spec.index = shard.first;
    spec.count = shard.second;
  }
  ASSIGN_OR_RETURN(auto outcome, datasets.AddShard(spec, PrintLine));
  if (outcome.merged) PrintDataset(*outcome.merged);
  return Status::Ok();
}

Status MergeDataset(store::Store& store, const DatasetMergeOptions& options) {
  train::Datasets datasets(&store, SystemClock::Get());
  ASSIGN_OR_RETURN(
      auto d, datasets.MergeShards(options.name, options.run, options.shards, options.dvc_file));
  PrintDataset(d);
  return Status::Ok();
}

Status ShowDataset(store::Store& store, const std::string& ref) {
  train::Datasets datasets(&store, SystemClock::Get());
  ASSIGN_OR_RETURN(auto parsed, train::ParseDatasetRef(ref));
  ASSIGN_OR_RETURN(auto d, datasets.Get(parsed.first, parsed.second));
  PrintDataset(d);
  for (const auto& c : d.columns) {
    if (c.type == "numeric") {
      std::printf("  %-28s numeric     missing %5.1f%%  min %-10.4g median %-10.4g max %.4g\n",
                  c.name.c_str(), 100 * c.missing_share, c.min,
                  c.percentiles.empty() ? 0.0 : c.percentiles[50], c.max);
    } else {
      std::printf("  %-28s categorical missing %5.1f%%  %zu categories\n", c.name.c_str(),
                  100 * c.missing_share, c.categories.size());
    }
  }
  return Status::Ok();
}

Status TrainAndRegister(store::Store& store, registry::Registry& registry,
                        const TrainCommandOptions& options) {
  if (options.data.empty() == options.dataset.empty()) {
    return InvalidArgument("give exactly one of --data FILE.csv or --dataset NAME[@VERSION]");
  }
  train::Datasets datasets(&store, SystemClock::Get());
  train::DatasetVersion dataset;
  if (!options.data.empty()) {
    const std::string name =
        options.dataset_name.empty() ? StemOf(options.data) : options.dataset_name;
    ASSIGN_OR_RETURN(dataset, datasets.Add(name, options.data));
  } else {
    ASSIGN_OR_RETURN(auto ref, train::ParseDatasetRef(options.dataset));
    ASSIGN_OR_RETURN(dataset, datasets.Get(ref.first, ref.second));
  }
  PrintDataset(dataset);
  ASSIGN_OR_RETURN(train::Table table, train::ReadDataset(dataset, options.columnar_dir));
  ASSIGN_OR_RETURN(auto result,
                   train::Train(table, options.train, [](int round, int rounds, const std::string& e) {
                     std::printf("round %d/%d %s\n", round, rounds, e.c_str());
                     std::fflush(stdout);
                   }));
  std::printf("objective %s, %lld training rows, %lld holdout rows\n", result.objective.c_str(),
              static_cast<long long>(result.train_rows), static_cast<long long>(result.valid_rows));
  for (const auto& [k, v] : result.metrics) std::printf("holdout %s %.6f\n", k.c_str(), v);
  registry::NewVersion details{
      .name = options.register_name,
      .params = result.params,
      .metrics = result.metrics,
      .dataset = registry::DatasetRef{dataset.name, dataset.version, dataset.md5}};
  details.params["target"] = options.train.target;
  if (result.prediction_profile) {
    details.prediction_profile = train::ColumnProfileToJson(*result.prediction_profile);
  }
  ASSIGN_OR_RETURN(auto version, RegisterModelBytes(registry, store, "model.json",
                                                    result.model_json, details, options.alias));
  std::printf("registered %s version %lld%s\n", options.register_name.c_str(),
              static_cast<long long>(version.version),
              options.alias.empty() ? "" : (" as @" + options.alias).c_str());
  return Status::Ok();
}

}  // namespace inferd::cli
