#include "cli/predictions_command.h"

#include <cstdio>
#include <filesystem>

#include "common/clock.h"
#include "common/time_text.h"
#include "monitor/prediction_export.h"
#include "train/prediction_dataset.h"

namespace inferd::cli {
namespace {

constexpr int64_t kPage = 500;
constexpr int64_t kProgressEvery = 10'000;
constexpr int64_t kMigrateBatch = 500;

// Feature names for a CSV header: the training data's, else none (f0, f1, ...).
std::vector<std::string> FeatureNames(store::Store& store, registry::Registry& registry,
                                      const store::PredictionRecord& r) {
  train::Datasets datasets(&store, SystemClock::Get());
  auto columns = train::TrainingColumns(registry, datasets, r.model, r.version, r.input_cols(),
                                        "ground_truth");
  return columns.ok() ? columns->features : std::vector<std::string>{};
}

}  // namespace

Status ExportPredictions(store::Store& store, registry::Registry& registry,
                         const PredictionExportOptions& options) {
  const bool csv = options.format == "csv";
  if (!csv && options.format != "ndjson") {
    return InvalidArgument("--format must be csv or ndjson, not '" + options.format + "'");
  }
  if (csv && options.model.empty()) {
    return InvalidArgument("--format csv needs --model: the columns are one model's");
  }
  const int64_t now = SystemClock::Get()->NowMillis();
  store::PredictionQuery query{.model = options.model,
                               .version = options.version,
                               .limit = kPage,
                               .with_ground_truth = true};
  if (!options.since.empty()) {
    ASSIGN_OR_RETURN(query.since_ms, ParseTimeMs(options.since, now));
  }
  if (!options.until.empty()) {
    ASSIGN_OR_RETURN(query.until_ms, ParseTimeMs(options.until, now));
  }
  const bool to_stdout = options.output.empty() || options.output == "-";
  const std::string partial = options.output + ".partial";
  FILE* out = to_stdout ? stdout : std::fopen(partial.c_str(), "wb");
  if (out == nullptr) return Unavailable("cannot write " + partial);
  monitor::PredictionReader reader(&store, query);
  int64_t records = 0, bytes = 0, next_progress = kProgressEvery, in_cols = -1, out_cols = -1;
  Status status = Status::Ok();
  while (status.ok()) {
    auto page = reader.Next();
    if (!page.ok()) {
      status = page.status();
      break;
    }
    if (page->empty()) break;
    std::string text;
    for (const store::PredictionRecord& r : *page) {
      if (!csv) {
        monitor::AppendPredictionNdjson(r, &text);
      } else {
        if (in_cols < 0) {
          in_cols = r.input_cols();
          out_cols = r.output_cols();
          text += monitor::PredictionCsvHeader(in_cols, out_cols, FeatureNames(store, registry, r));
        } else if (r.rows > 0 && (r.input_cols() != in_cols || r.output_cols() != out_cols)) {
          status = InvalidArgument("prediction '" + r.id + "' (version " +
                                   std::to_string(r.version) + ") has other columns than the " +
                                   "ones before it: export one version at a time (--version)");
          break;
        }
        status = monitor::AppendPredictionCsv(r, &text);
        if (!status.ok()) break;
      }
      ++records;
    }
    if (std::fwrite(text.data(), 1, text.size(), out) != text.size()) {
      status = Unavailable("cannot write " + (to_stdout ? std::string("stdout") : partial));
    }
    bytes += static_cast<int64_t>(text.size());
    if (records >= next_progress) {
      std::fprintf(stderr, "exported %lld predictions (%.1f MB)\n", static_cast<long long>(records),
                   bytes / 1e6);
      next_progress = records + kProgressEvery;
    }
  }
  if (std::fflush(out) != 0 && status.ok()) status = Unavailable("cannot write the export");
  if (!to_stdout) {
    std::fclose(out);
    std::error_code ec;
    if (status.ok()) {
      std::filesystem::rename(partial, options.output, ec);
      if (ec) status = Unavailable("cannot write " + options.output + ": " + ec.message());
    }
    if (!status.ok()) std::filesystem::remove(partial, ec);
  }
  RETURN_IF_ERROR(status);
  std::fprintf(stderr, "exported %lld predictions (%.1f MB)%s%s\n",
               static_cast<long long>(records), bytes / 1e6, to_stdout ? "" : " to ",
               to_stdout ? "" : options.output.c_str());
  return Status::Ok();
}

Status MigratePredictions(store::Store& store) {
  int64_t total = 0;
  while (true) {
    ASSIGN_OR_RETURN(int64_t moved, store.MigrateLegacyPredictions(kMigrateBatch));
    if (moved == 0) break;
    total += moved;
    if (total % kProgressEvery < kMigrateBatch) {
      std::fprintf(stderr, "migrated %lld prediction records\n", static_cast<long long>(total));
    }
  }
  std::printf("migrated %lld prediction records to the compact layout\n",
              static_cast<long long>(total));
  return Status::Ok();
}

}  // namespace inferd::cli
