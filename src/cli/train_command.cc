#include "cli/train_command.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/models_command.h"
#include "common/clock.h"
#include "common/time_text.h"
#include "registry/tracking.h"
#include "train/distributed.h"
#include "train/prediction_dataset.h"
#include "train/tracker.h"

namespace inferd::cli {
namespace {

// Records read from the store at a time by the commands that walk the prediction log.
constexpr int64_t kPredictionPage = 500;

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

// `datasets add --from-predictions MODEL`: the labelled rows to a file, then
// the file as the next version of the dataset.
Status AddDatasetFromPredictions(store::Store& store, const DatasetAddOptions& options) {
  train::Datasets datasets(&store, SystemClock::Get());
  registry::Registry registry(&store, SystemClock::Get());
  const int64_t now = SystemClock::Get()->NowMillis();
  store::PredictionQuery query{.model = options.from_predictions,
                               .version = options.version,
                               .limit = kPredictionPage};
  if (!options.since.empty()) {
    ASSIGN_OR_RETURN(query.since_ms, ParseTimeMs(options.since, now));
  }
  if (!options.until.empty()) {
    ASSIGN_OR_RETURN(query.until_ms, ParseTimeMs(options.until, now));
  }
  const std::string name =
      options.name.empty() ? options.from_predictions + "-feedback" : options.name;
  const std::string output =
      options.output.empty()
          ? "./inferd-data/datasets/" + name + "/" + std::to_string(now) + ".csv"
          : options.output;
  ASSIGN_OR_RETURN(
      train::LabelledRows written,
      train::WriteLabelledRows(
          store, query,
          [&](const store::PredictionRecord& first) {
            return train::TrainingColumns(registry, datasets, first.model, first.version,
                                          first.input_cols(), options.target);
          },
          output,
          [](int64_t read, const train::LabelledRows& so_far) {
            std::fprintf(stderr, "read %lld predictions, %lld labelled (%lld rows)\n",
                         static_cast<long long>(read), static_cast<long long>(so_far.records),
                         static_cast<long long>(so_far.rows));
          },
          options.with_data));
  std::printf("wrote %lld labelled rows of %lld predictions to %s (%lld without ground truth)%s%s\n",
              static_cast<long long>(written.rows), static_cast<long long>(written.records),
              output.c_str(), static_cast<long long>(written.unlabelled),
              options.with_data.empty() ? "" : ", after the rows of ", options.with_data.c_str());
  ASSIGN_OR_RETURN(train::DatasetVersion d, datasets.Add(name, output));
  PrintDataset(d);
  return Status::Ok();
}

Status AddDataset(store::Store& store, const DatasetAddOptions& options) {
  if (!options.from_predictions.empty()) {
    if (!options.inputs.empty() || !options.dvc_file.empty() || !options.shard.empty()) {
      return InvalidArgument("--from-predictions takes no data files, --dvc or --shard");
    }
    return AddDatasetFromPredictions(store, options);
  }
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

namespace {

constexpr auto kDatasetPoll = std::chrono::seconds(2);
// How long a failed worker waits for the tracker's verdict on its failure (the
// tracker itself waits up to its failure grace, 1 s, for a root cause).
constexpr auto kVerdictWait = std::chrono::seconds(10);

StatusOr<std::pair<std::string, int>> ParseAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  char* end = nullptr;
  const long port =
      colon == std::string::npos ? -1 : std::strtol(address.c_str() + colon + 1, &end, 10);
  if (colon == std::string::npos || colon == 0 || *end != '\0' || port < 0 || port > 65535) {
    return InvalidArgument("--tracker-address " + address + ": expected HOST:PORT");
  }
  return std::pair{address.substr(0, colon), static_cast<int>(port)};
}

// The first 48 bits of an md5, exactly representable in a double.
double Md5Prefix(const std::string& md5) {
  return static_cast<double>(std::strtoull(md5.substr(0, 12).c_str(), nullptr, 16));
}

// What a worker reads, decided from the dataset's record alone.
struct WorkerPlan {
  train::DatasetVersion dataset;
  std::vector<train::WorkerFile> files;
};

// Waits, up to --wait-for-dataset, for --dataset to be recorded (by the shards
// of a job that started with this one).
Status WaitForDataset(store::Store& store, const TrainCommandOptions& options) {
  if (options.dataset.empty() || options.wait_for_dataset_s <= 0) return Status::Ok();
  ASSIGN_OR_RETURN(auto ref, train::ParseDatasetRef(options.dataset));
  train::Datasets datasets(&store, SystemClock::Get());
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(options.wait_for_dataset_s);
  for (bool said = false;; said = true) {
    auto found = datasets.Get(ref.first, ref.second);
    if (found.ok()) return Status::Ok();
    if (found.status().code() != StatusCode::kNotFound) return found.status();
    if (std::chrono::steady_clock::now() >= deadline) {
      return NotFound(found.status().message() + " (waited " +
                      std::to_string(options.wait_for_dataset_s) + " s)");
    }
    if (!said) {
      std::printf("waiting for dataset %s to be recorded\n", options.dataset.c_str());
      std::fflush(stdout);
    }
    std::this_thread::sleep_for(kDatasetPoll);
  }
}

StatusOr<WorkerPlan> PlanWorker(store::Store& store, const TrainCommandOptions& options) {
  train::Datasets datasets(&store, SystemClock::Get());
  ASSIGN_OR_RETURN(auto ref, train::ParseDatasetRef(options.dataset));
  WorkerPlan plan;
  ASSIGN_OR_RETURN(plan.dataset, datasets.Get(ref.first, ref.second));
  ASSIGN_OR_RETURN(plan.files,
                   train::WorkerFiles(plan.dataset, options.worker_index, options.workers));
  return plan;
}

// Records the training as an MLflow run (params, holdout metrics, the dataset
// version as input, the model as a logged model) and registers that model as
// the next version with its lineage (`details`), as a training script's
// mlflow.xgboost.log_model(..., registered_model_name=...) does.
Status RecordAndRegister(store::Store& store, registry::Registry& registry,
                         const TrainCommandOptions& options, const std::string& model_json,
                         registry::NewVersion details) {
  registry::Tracking tracking(&store, SystemClock::Get());
  const std::string experiment =
      options.experiment.empty() ? options.register_name : options.experiment;
  ASSIGN_OR_RETURN(auto recorded, tracking.RecordTraining({.experiment = experiment,
                                                           .params = details.params,
                                                           .metrics = details.metrics,
                                                           .dataset = *details.dataset,
                                                           .model_filename = "model.json",
                                                           .model_bytes = model_json}));
  std::printf("run %s in experiment %s, logged model %s\n", recorded.run.run_id.c_str(),
              experiment.c_str(), recorded.model.model_id.c_str());
  details.source = "models:/" + recorded.model.model_id;
  details.run_id = recorded.run.run_id;
  ASSIGN_OR_RETURN(auto version, RegisterSource(registry, &tracking, details, options.alias));
  std::printf("registered %s version %lld%s\n", options.register_name.c_str(),
              static_cast<long long>(version.version),
              options.alias.empty() ? "" : (" as @" + options.alias).c_str());
  std::fflush(stdout);
  return Status::Ok();
}

// One worker's part of a job: read its files, train with the others, and on
// worker 0 register the model (after the tracker, if hosted here, saw every
// worker finish).
Status RunWorker(store::Store& store, registry::Registry& registry,
                 const TrainCommandOptions& options, const WorkerPlan& plan,
                 const std::string& host, int port, train::TrackerLink* link,
                 train::Tracker* tracker) {
  const int index = options.worker_index, workers = options.workers;
  const std::string who =
      workers > 1 ? "worker " + std::to_string(index) + "/" + std::to_string(workers) + ": " : "";
  const train::DatasetVersion& dataset = plan.dataset;
  const auto& files = plan.files;
  if (index == 0) PrintDataset(dataset);
  train::TrainOptions train = options.train;
  if (train.tree_method.empty()) train.tree_method = "hist";
  RETURN_IF_ERROR(train::CheckDevice(train.device));
  const auto started = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(train::TrainingRows rows,
                   train::ReadWorkerRows(dataset, files, train, options.columnar_dir));
  std::printf("%sread %zu file(s), %zu training rows, %zu holdout rows in %.1f s\n", who.c_str(),
              files.size(), rows.train_y.size(), rows.valid_y.size(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  std::fflush(stdout);
  std::unique_ptr<train::XgbCommunicator> communicator;
  if (workers > 1) {
    ASSIGN_OR_RETURN(communicator, train::XgbCommunicator::Init(host, port, index, workers));
    // Every worker must train on the same version (a newer one may have been recorded since
    // the first worker looked).
    std::vector<double> same = {static_cast<double>(dataset.version), Md5Prefix(dataset.md5),
                                -static_cast<double>(dataset.version), -Md5Prefix(dataset.md5)};
    RETURN_IF_ERROR(communicator->Max(&same));
    if (same[0] != -same[2] || same[1] != -same[3]) {
      return FailedPrecondition("the workers found different versions of dataset " + dataset.name +
                                ": give --dataset NAME@VERSION");
    }
  }
  ASSIGN_OR_RETURN(auto result, train::Fit(std::move(rows), train, communicator.get(),
                                           [&](int round, int rounds, const std::string& e) {
                                             std::printf("%sround %d/%d %s\n", who.c_str(), round,
                                                         rounds, e.c_str());
                                             std::fflush(stdout);
                                             if (link) link->Round(round);
                                           }));
  if (communicator) RETURN_IF_ERROR(communicator->Finalize());
  if (index != 0) {
    link->Done();
    std::printf("%sdone\n", who.c_str());
    return Status::Ok();
  }
  if (link) link->Done();
  if (tracker) RETURN_IF_ERROR(tracker->Wait());
  std::printf("objective %s, %lld training rows, %lld holdout rows, %d worker(s)\n",
              result.objective.c_str(), static_cast<long long>(result.train_rows),
              static_cast<long long>(result.valid_rows), workers);
  for (const auto& [k, v] : result.metrics) std::printf("holdout %s %.6f\n", k.c_str(), v);
  registry::NewVersion details{
      .name = options.register_name,
      .params = result.params,
      .metrics = result.metrics,
      .dataset = registry::DatasetRef{dataset.name, dataset.version, dataset.md5}};
  details.params["target"] = options.train.target;
  details.params["workers"] = std::to_string(workers);
  details.params["dataset_files"] = std::to_string(dataset.DataFiles().size());
  details.params["dataset_shards"] = std::to_string(dataset.shards);
  if (result.prediction_profile) {
    details.prediction_profile = train::ColumnProfileToJson(*result.prediction_profile);
  }
  return RecordAndRegister(store, registry, options, result.model_json, std::move(details));
}

void PrintTrackerLine(const std::string& line) {
  std::printf("tracker: %s\n", line.c_str());
  std::fflush(stdout);
}

Status TrainDistributed(store::Store& store, registry::Registry& registry,
                        const TrainCommandOptions& options) {
  if (options.dataset.empty() || !options.data.empty()) {
    return InvalidArgument("--workers trains on a recorded dataset: give --dataset NAME[@VERSION]");
  }
  if (options.worker_index < 0 || options.worker_index >= options.workers) {
    return InvalidArgument("--worker-index must be in [0, --workers)");
  }
  RETURN_IF_ERROR(WaitForDataset(store, options));
  if (options.workers == 1) {
    ASSIGN_OR_RETURN(WorkerPlan plan, PlanWorker(store, options));
    return RunWorker(store, registry, options, plan, "", 0, nullptr, nullptr);
  }
  ASSIGN_OR_RETURN(auto address, ParseAddress(options.tracker_address));
  auto [host, port] = address;
  std::unique_ptr<train::Tracker> tracker;
  if (options.worker_index == 0 && !options.external_tracker) {
    ASSIGN_OR_RETURN(tracker,
                     train::Tracker::Start(
                         {.host = "0.0.0.0",
                          .port = port,
                          .workers = options.workers,
                          .rendezvous_timeout = std::chrono::seconds(options.rendezvous_timeout_s),
                          .heartbeat_timeout = std::chrono::seconds(options.heartbeat_timeout_s),
                          .log = PrintTrackerLine}));
    port = tracker->port();
    std::printf("tracker listening on %s:%d for %d workers\n", host.c_str(), port, options.workers);
    std::fflush(stdout);
  }
  train::Tracker* hosted = tracker.get();
  const auto now = std::chrono::steady_clock::now();
  auto plan = PlanWorker(store, options);
  // A worker that cannot start still tells the tracker, so the others stop at once (if the
  // tracker answers soon).
  const auto deadline =
      now + (plan.ok() ? std::chrono::seconds(options.rendezvous_timeout_s)
                       : std::chrono::seconds(std::min(5, options.rendezvous_timeout_s)));
  // The job was stopped by the tracker (another worker died, stalled or failed):
  // exit 2 naming the cause. The main thread may be blocked in a collective call
  // that cannot be interrupted, hence the exit from here.
  auto stopped = [hosted](const std::string& message) {
    if (hosted != nullptr) (void)hosted->Wait();  // the other workers are told first
    std::fflush(stdout);
    std::fprintf(stderr, "training stopped: %s\n", message.c_str());
    std::fflush(stderr);
    std::_Exit(2);
  };
  auto link = train::TrackerLink::Connect(
      host, port, options.worker_index, options.workers, deadline,
      std::chrono::seconds(options.heartbeat_timeout_s),
      options.external_tracker ? std::string("the tracker") : "worker 0's tracker", stopped);
  if (!link.ok()) return plan.ok() ? link.status() : plan.status();
  Status st = plan.ok()
                  ? RunWorker(store, registry, options, *plan, host, port, link->get(), hosted)
                  : plan.status();
  if (!st.ok()) {
    // A collective call fails in every survivor when a peer dies: the tracker's
    // verdict says whether this failure is the job's cause or a symptom of another.
    std::string verdict = (*link)->Failed(st.message(), kVerdictWait);
    if (hosted != nullptr) verdict = hosted->Wait().message();
    if (!verdict.empty() && verdict.find(st.message()) == std::string::npos) stopped(verdict);
  }
  return st;
}

}  // namespace

Status RunTracker(const TrainCommandOptions& options) {
  if (options.workers < 1) return InvalidArgument("--tracker needs --workers N");
  ASSIGN_OR_RETURN(auto address, ParseAddress(options.tracker_address));
  ASSIGN_OR_RETURN(auto tracker,
                   train::Tracker::Start(
                       {.host = "0.0.0.0",
                        .port = address.second,
                        .workers = options.workers,
                        .rendezvous_timeout = std::chrono::seconds(options.rendezvous_timeout_s),
                        .heartbeat_timeout = std::chrono::seconds(options.heartbeat_timeout_s),
                        .log = PrintTrackerLine}));
  std::printf("tracker listening on %s:%d for %d workers\n", address.first.c_str(), tracker->port(),
              options.workers);
  std::fflush(stdout);
  return tracker->Wait();
}

Status TrainAndRegister(store::Store& store, registry::Registry& registry,
                        const TrainCommandOptions& options) {
  if (options.train.target.empty()) return InvalidArgument("--target is required");
  if (options.register_name.empty()) return InvalidArgument("--register is required");
  if (options.workers > 0) return TrainDistributed(store, registry, options);
  if (options.data.empty() == options.dataset.empty()) {
    return InvalidArgument("give exactly one of --data FILE.csv or --dataset NAME[@VERSION]");
  }
  RETURN_IF_ERROR(WaitForDataset(store, options));
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
  return RecordAndRegister(store, registry, options, result.model_json, std::move(details));
}

}  // namespace inferd::cli
