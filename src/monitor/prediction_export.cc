#include "monitor/prediction_export.h"

#include <simdjson.h>

#include <cmath>
#include <cstdio>

#include "common/json_writer.h"

namespace inferd::monitor {
namespace {

void AppendCsvFloat(float v, std::string* out) {
  if (std::isnan(v)) return;  // missing: an empty cell
  std::string cell;
  JsonWriter(&cell).Float(v);
  out->append(cell);
}

}  // namespace

void AppendPredictionNdjson(const store::PredictionRecord& r, std::string* out) {
  JsonWriter json(out);
  json.BeginObject().Key("id").String(r.id).Key("model").String(r.model);
  json.Key("version").Int(r.version).Key("time").Int(r.time_ms);
  json.Key("latency_us").Int(r.latency_us).Key("kind").String(r.kind);
  const int64_t in_cols = r.input_cols(), out_cols = r.output_cols();
  json.Key("inputs").BeginArray();
  for (int64_t row = 0; row < r.rows; ++row) {
    json.BeginArray();
    for (int64_t c = 0; c < in_cols; ++c) json.Float(r.inputs[row * in_cols + c]);
    json.EndArray();
  }
  json.EndArray().Key("outputs").BeginArray();
  for (int64_t row = 0; row < r.rows; ++row) {
    if (out_cols == 1) {
      json.Float(r.outputs[row]);
      continue;
    }
    json.BeginArray();
    for (int64_t c = 0; c < out_cols; ++c) json.Float(r.outputs[row * out_cols + c]);
    json.EndArray();
  }
  json.EndArray();
  if (!r.ground_truth.empty()) json.Key("ground_truth").Raw(r.ground_truth);
  json.EndObject();
  out->push_back('\n');
}

std::string PredictionCsvHeader(int64_t input_cols, int64_t output_cols,
                                const std::vector<std::string>& feature_names) {
  std::string header = "id,row,time,model,version";
  const bool named = static_cast<int64_t>(feature_names.size()) == input_cols;
  for (int64_t c = 0; c < input_cols; ++c) {
    header += "," + (named ? feature_names[c] : "f" + std::to_string(c));
  }
  if (output_cols == 1) {
    header += ",prediction";
  } else {
    for (int64_t c = 0; c < output_cols; ++c) header += ",prediction_" + std::to_string(c);
  }
  return header + ",ground_truth\n";
}

StatusOr<std::vector<double>> GroundTruthLabels(const store::PredictionRecord& r) {
  simdjson::dom::parser parser;
  simdjson::dom::element truth;
  const Status bad = InvalidArgument("the ground truth of prediction '" + r.id +
                                     "' is not one number per row (" + std::to_string(r.rows) +
                                     ")");
  if (parser.parse(r.ground_truth).get(truth) != simdjson::SUCCESS) return bad;
  std::vector<double> labels;
  double value = 0;
  if (truth.get(value) == simdjson::SUCCESS) {
    labels.push_back(value);
  } else if (truth.is_array()) {
    for (auto v : truth.get_array()) {
      if (v.get(value) != simdjson::SUCCESS) return bad;
      labels.push_back(value);
    }
  }
  if (static_cast<int64_t>(labels.size()) != r.rows) return bad;
  return labels;
}

Status AppendPredictionCsv(const store::PredictionRecord& r, std::string* out) {
  std::vector<double> labels;
  if (!r.ground_truth.empty()) {
    ASSIGN_OR_RETURN(labels, GroundTruthLabels(r));
  }
  const int64_t in_cols = r.input_cols(), out_cols = r.output_cols();
  const std::string prefix_tail = "," + std::to_string(r.time_ms) + "," + r.model + "," +
                                  std::to_string(r.version);
  for (int64_t row = 0; row < r.rows; ++row) {
    out->append(r.id).append(",").append(std::to_string(row)).append(prefix_tail);
    for (int64_t c = 0; c < in_cols; ++c) {
      out->push_back(',');
      AppendCsvFloat(r.inputs[row * in_cols + c], out);
    }
    for (int64_t c = 0; c < out_cols; ++c) {
      out->push_back(',');
      AppendCsvFloat(r.outputs[row * out_cols + c], out);
    }
    out->push_back(',');
    if (!labels.empty()) {
      std::string cell;
      JsonWriter(&cell).Double(labels[row]);
      out->append(cell);
    }
    out->push_back('\n');
  }
  return Status::Ok();
}

StatusOr<std::vector<store::PredictionRecord>> PredictionReader::Next() {
  if (done_) return std::vector<store::PredictionRecord>{};
  ASSIGN_OR_RETURN(auto page, store_->ListPredictions(query_));
  if (static_cast<int64_t>(page.size()) < query_.limit) done_ = true;
  if (!page.empty()) query_.after_id = page.back().id;
  return page;
}

}  // namespace inferd::monitor
