#include "train/prediction_dataset.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/json_writer.h"
#include "monitor/prediction_export.h"

namespace inferd::train {

StatusOr<PredictionColumns> TrainingColumns(registry::Registry& registry, Datasets& datasets,
                                            const std::string& model, int64_t version,
                                            int64_t input_cols, const std::string& target) {
  PredictionColumns columns;
  auto found = registry.GetVersion(model, version);
  if (found.ok() && found->dataset) {
    auto trained_on = datasets.Get(found->dataset->name, found->dataset->version);
    auto own_target = found->params.find("target");
    if (trained_on.ok() && own_target != found->params.end()) {
      for (const ColumnProfile& c : trained_on->columns) {
        if (c.name != own_target->second) columns.features.push_back(c.name);
      }
      columns.target = target.empty() ? own_target->second : target;
      if (static_cast<int64_t>(columns.features.size()) != input_cols) {
        return InvalidArgument("model '" + model + "' version " + std::to_string(version) +
                               " was trained on " + std::to_string(columns.features.size()) +
                               " features but its predictions have " +
                               std::to_string(input_cols));
      }
      return columns;
    }
  }
  if (target.empty()) {
    return InvalidArgument("model '" + model + "' version " + std::to_string(version) +
                           " has no training dataset to name its columns: give --target");
  }
  for (int64_t c = 0; c < input_cols; ++c) columns.features.push_back("f" + std::to_string(c));
  columns.target = target;
  return columns;
}

namespace {

void AppendCell(double v, std::string* out) {
  if (std::isnan(v)) return;  // missing
  std::string cell;
  JsonWriter(&cell).Double(v);
  out->append(cell);
}

}  // namespace

StatusOr<LabelledRows> WriteLabelledRows(
    store::Store& store, store::PredictionQuery query,
    const std::function<StatusOr<PredictionColumns>(const store::PredictionRecord&)>& columns_for,
    const std::string& path, const LabelledProgress& progress, const std::string& base_csv) {
  query.with_ground_truth = true;
  const std::string partial = path + ".partial";
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) return Unavailable("cannot write " + partial);
  LabelledRows done;
  int64_t read = 0, next_progress = kProgressRecords, features = -1;
  monitor::PredictionReader reader(&store, query);
  auto fail = [&](Status st) {
    out.close();
    std::filesystem::remove(partial, ec);
    return st;
  };
  std::string base_header;
  if (!base_csv.empty()) {
    std::ifstream base(base_csv, std::ios::binary);
    if (!base || !std::getline(base, base_header)) {
      return fail(NotFound("cannot read the base data " + base_csv));
    }
    if (!base_header.empty() && base_header.back() == '\r') base_header.pop_back();
    base.clear();
    base.seekg(0);
    out << base.rdbuf();
    std::ifstream check(partial, std::ios::binary | std::ios::ate);
    const auto size = check.tellg();
    if (size > 0) {  // the base's last line may lack its newline
      check.seekg(size - std::streamoff{1});
      if (check.get() != '\n') out << '\n';
    }
  }
  while (true) {
    auto page = reader.Next();
    if (!page.ok()) return fail(page.status());
    if (page->empty()) break;
    std::string lines;
    for (const store::PredictionRecord& r : *page) {
      ++read;
      if (r.ground_truth.empty()) {
        ++done.unlabelled;
        continue;
      }
      auto labels = monitor::GroundTruthLabels(r);
      if (!labels.ok()) return fail(labels.status());
      if (features < 0) {
        auto columns = columns_for(r);
        if (!columns.ok()) return fail(columns.status());
        features = r.input_cols();
        std::string header;
        for (const std::string& name : columns->features) header += name + ",";
        header += columns->target;
        if (base_csv.empty()) {
          lines += header + "\n";
        } else if (header != base_header) {
          return fail(InvalidArgument("the base data " + base_csv + " has the columns '" +
                                      base_header + "', the predictions '" + header + "'"));
        }
      } else if (r.input_cols() != features && r.rows > 0) {
        return fail(InvalidArgument("prediction '" + r.id + "' has " +
                                    std::to_string(r.input_cols()) + " features, earlier ones " +
                                    std::to_string(features) + ": take one version (--version)"));
      }
      for (int64_t row = 0; row < r.rows; ++row) {
        for (int64_t c = 0; c < features; ++c) {
          AppendCell(r.inputs[row * features + c], &lines);
          lines.push_back(',');
        }
        AppendCell((*labels)[row], &lines);
        lines.push_back('\n');
      }
      ++done.records;
      done.rows += r.rows;
    }
    out << lines;
    if (!out) return fail(Unavailable("cannot write " + partial));
    if (read >= next_progress) {
      if (progress) progress(read, done);
      next_progress = read + kProgressRecords;
    }
  }
  if (progress) progress(read, done);
  out.close();
  if (done.records == 0 && base_csv.empty()) {
    return fail(FailedPrecondition("none of the " + std::to_string(read) +
                                   " predictions selected has ground truth (POST /v1/feedback)"));
  }
  std::filesystem::rename(partial, path, ec);
  if (ec) return fail(Unavailable("cannot write " + path + ": " + ec.message()));
  return done;
}

}  // namespace inferd::train
