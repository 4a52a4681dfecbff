#include "store/predictions.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <cmath>

namespace inferd::store {
namespace {

static_assert(std::endian::native == std::endian::little,
              "prediction records store floats as little-endian float32");

constexpr int kPrefixDigits = 12;
constexpr int64_t kMaxPrefixMs = (int64_t{1} << 48) - 1;
// What a record's id, numbers and shapes take besides its strings and floats.
constexpr int64_t kFixedRecordBytes = 32 + 6 * 8;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Reads {shape: [rows, cols], data: [numbers or null]} into `values`.
// InvalidArgument when the field is absent or not such an object.
Status ReadMatrix(simdjson::simdjson_result<simdjson::dom::element> field, const char* name,
                  int64_t* rows, std::vector<float>* values) {
  simdjson::dom::object matrix;
  simdjson::dom::array shape, data;
  if (field.get(matrix) != simdjson::SUCCESS || matrix["shape"].get(shape) != simdjson::SUCCESS ||
      matrix["data"].get(data) != simdjson::SUCCESS) {
    return InvalidArgument(std::string("prediction record lacks ") + name + " {shape, data}");
  }
  int64_t dims[2] = {0, 1};
  size_t i = 0;
  for (auto d : shape) {
    if (i < 2 && d.get_int64().get(dims[i]) != simdjson::SUCCESS) {
      return InvalidArgument(std::string("prediction record's ") + name + " shape is not integers");
    }
    ++i;
  }
  *rows = dims[0];
  values->reserve(data.size());
  for (auto v : data) {
    double x = 0;
    values->push_back(v.get(x) == simdjson::SUCCESS ? static_cast<float>(x) : std::nanf(""));
  }
  return Status::Ok();
}

}  // namespace

std::string PredictionIdPrefix(int64_t ms) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto value = static_cast<uint64_t>(std::clamp<int64_t>(ms, 0, kMaxPrefixMs));
  std::string prefix(kPrefixDigits, '0');
  for (int i = 0; i < kPrefixDigits; ++i) {
    prefix[i] = kHex[(value >> (4 * (kPrefixDigits - 1 - i))) & 0xF];
  }
  return prefix;
}

int64_t PredictionIdTime(std::string_view id) {
  if (id.size() < kPrefixDigits) return -1;
  int64_t ms = 0;
  for (int i = 0; i < kPrefixDigits; ++i) {
    const int digit = HexValue(id[i]);
    if (digit < 0) return -1;
    ms = ms * 16 + digit;
  }
  return ms;
}

int64_t StoredPredictionBytes(const PredictionRecord& r) {
  return kFixedRecordBytes + static_cast<int64_t>(r.model.size() + r.kind.size()) +
         static_cast<int64_t>(sizeof(float) * (r.inputs.size() + r.outputs.size()));
}

Status CheckPredictionRecord(const PredictionRecord& r) {
  if (r.id.empty()) return InvalidArgument("prediction record without an id");
  if (r.rows < 0) return InvalidArgument("prediction record '" + r.id + "' has negative rows");
  const auto rows = static_cast<size_t>(r.rows);
  const bool divides = rows == 0 ? r.inputs.empty() && r.outputs.empty()
                                 : r.inputs.size() % rows == 0 && r.outputs.size() % rows == 0;
  if (!divides) {
    return InvalidArgument("prediction record '" + r.id + "': inputs and outputs are not " +
                           std::to_string(r.rows) + " rows");
  }
  return Status::Ok();
}

StatusOr<PredictionRecord> PredictionFromLegacyJson(std::string id, std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(json.data(), json.size()).get(e) != simdjson::SUCCESS || !e.is_object()) {
    return InvalidArgument("prediction record '" + id + "' is not a JSON object");
  }
  PredictionRecord r;
  r.id = std::move(id);
  std::string_view text;
  if (e["model"].get(text) != simdjson::SUCCESS) {
    return InvalidArgument("prediction record '" + r.id + "' lacks model");
  }
  r.model = std::string(text);
  if (e["version"].get(r.version) != simdjson::SUCCESS) {
    return InvalidArgument("prediction record '" + r.id + "' lacks version");
  }
  if (e["time"].get(r.time_ms) != simdjson::SUCCESS) r.time_ms = PredictionIdTime(r.id);
  if (e["latency_us"].get(r.latency_us) != simdjson::SUCCESS) r.latency_us = 0;
  int64_t output_rows = 0;
  RETURN_IF_ERROR(ReadMatrix(e["inputs"], "inputs", &r.rows, &r.inputs));
  RETURN_IF_ERROR(ReadMatrix(e["outputs"], "outputs", &output_rows, &r.outputs));
  // Records before `kind` was written: as the feedback join guessed it then.
  if (e["kind"].get(text) == simdjson::SUCCESS) {
    r.kind = std::string(text);
  } else {
    r.kind = r.output_cols() > 1 ? "multiclass" : "regression";
  }
  RETURN_IF_ERROR(CheckPredictionRecord(r));
  return r;
}

}  // namespace inferd::store
