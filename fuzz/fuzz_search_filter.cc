// MLflow's search grammar (registry/search_filter.h) as every search inferd
// serves runs it: registered models, model versions, experiments, runs and
// logged models, over a real SQLite store (in memory) holding one of each with
// tags, params, metrics and a dataset, so that every kind of field is compared.
// The input is "filter\norder_by\npage_token"; a search may fail only as the
// caller's error (InvalidArgument), never otherwise.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "registry/registry.h"
#include "registry/search_filter.h"
#include "registry/tracking.h"
#include "store/sqlite_store.h"

using namespace inferd;
using namespace inferd::registry;

namespace {

void Check(const Status& status) {
  if (!status.ok() && status.code() != StatusCode::kInvalidArgument) __builtin_trap();
}

void Require(const Status& status) {
  if (!status.ok()) __builtin_trap();
}

struct Searches {
  Searches() {
    store = store::SqliteStore::Open(":memory:").value();
    const Clock* clock = SystemClock::Get();
    registry = std::make_unique<Registry>(store.get(), clock);
    tracking = std::make_unique<Tracking>(store.get(), clock);
    Require(registry->CreateModel("breast_cancer", "", {{"team", "ml"}, {"stage", "prod%_x"}})
                .status());
    auto experiment = tracking->CreateExperiment("fuzz", "", {{"owner", "me"}});
    Require(experiment.status());
    experiment_id = *experiment;
    auto run = tracking->CreateRun({.experiment_id = experiment_id,
                                    .user_id = "u",
                                    .run_name = "r1",
                                    .tags = {{"mlflow.source.type", "LOCAL"}}});
    Require(run.status());
    Require(tracking->LogBatch(run->run_id, {{.key = "rmse", .value = 0.25, .step = 1}},
                               {{"max_depth", "4"}}, {{"team", "ml"}}));
    Require(tracking->LogInputs(
        run->run_id,
        {{.name = "iris", .digest = "abc", .tags = {{"mlflow.data.context", "training"}}}}, {}));
    Require(tracking
                ->CreateLoggedModel({.experiment_id = experiment_id,
                                     .name = "m",
                                     .model_type = "xgboost",
                                     .source_run_id = run->run_id,
                                     .params = {{"eta", "0.3"}},
                                     .tags = {{"k", "v"}}})
                .status());
    Require(registry
                ->CreateVersion({.name = "breast_cancer",
                                 .source = "mlflow-artifacts:/models/bc/run1",
                                 .run_id = run->run_id,
                                 .tags = {{"validated", "yes"}}})
                .status());
  }

  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<Registry> registry;
  std::unique_ptr<Tracking> tracking;
  std::string experiment_id;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Searches* searches = new Searches();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string parts[3];
  for (std::string& part : parts) {
    const size_t end = std::min(input.find('\n'), input.size());
    part = input.substr(0, end);
    input.remove_prefix(std::min(end + 1, input.size()));
  }
  const std::string& filter = parts[0];
  std::vector<std::string> order_by;
  if (!parts[1].empty()) order_by.push_back(parts[1]);
  const std::string& token = parts[2];

  Check(ParseFilter(filter).status());
  Check(ParseOrderTerm(parts[1]).status());
  Check(DecodePageToken(token).status());
  if (auto parsed = SearchFilter::Parse(filter); parsed.ok()) {
    (void)parsed->Matches(RegisteredModel{.name = "x", .tags = {{"a", "b"}}});
  }
  Check(searches->registry
            ->SearchModels(
                {.filter = filter, .max_results = 2, .order_by = order_by, .page_token = token})
            .status());
  Check(searches->registry
            ->SearchVersions(
                {.filter = filter, .max_results = 2, .order_by = order_by, .page_token = token})
            .status());
  Check(searches->tracking
            ->SearchExperiments({.filter = filter,
                                 .view = ViewType::kAll,
                                 .max_results = 2,
                                 .order_by = order_by,
                                 .page_token = token})
            .status());
  Check(searches->tracking
            ->SearchRuns({.experiment_ids = {searches->experiment_id},
                          .filter = filter,
                          .view = ViewType::kAll,
                          .max_results = 2,
                          .order_by = order_by,
                          .page_token = token})
            .status());
  std::vector<std::pair<std::string, bool>> model_order;
  if (!parts[1].empty()) model_order.emplace_back(parts[1], (size & 1) != 0);
  Check(searches->tracking
            ->SearchLoggedModels({.experiment_ids = {searches->experiment_id},
                                  .filter = filter,
                                  .max_results = 2,
                                  .order_by = model_order,
                                  .page_token = token})
            .status());
  return 0;
}
