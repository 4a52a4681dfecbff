// The V2 codec: parsing inference requests (JSON numbers and the binary tensor
// extension) and encoding responses, on the demo dataset's rows.
//   build/codec_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "api/v2_codec.h"
#include "http/message.h"

namespace {

using inferd::api::EncodeInferResponse;
using inferd::api::InferOutput;
using inferd::api::ParseInferRequest;

// The first `rows` rows of breast_cancer.csv (30 features) as Python's
// json.dumps would write them: shortest round-trip doubles.
std::vector<std::vector<std::string>> Rows(int rows) {
  std::ifstream in(INFERD_TEST_DATA "/breast_cancer.csv");
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::vector<std::string>> out;
  while (static_cast<int>(out.size()) < rows && std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, ',');) fields.push_back(f);
    fields.pop_back();  // the label
    for (auto& f : fields) {
      char buf[32];
      auto end = std::to_chars(buf, buf + sizeof buf, std::stod(f)).ptr;
      f.assign(buf, end);
      if (f.find_first_of(".e") == std::string::npos) f += ".0";
    }
    out.push_back(std::move(fields));
  }
  return out;
}

inferd::http::Request JsonRequest(int rows) {
  std::string data;
  for (const auto& row : Rows(rows)) {
    std::string r;
    for (const auto& v : row) r += (r.empty() ? "" : ", ") + v;
    data += (data.empty() ? "[" : ", [") + r + "]";
  }
  inferd::http::Request request;
  request.method = "POST";
  request.body = R"({"inputs": [{"name": "input__0", "shape": [)" + std::to_string(rows) +
                 R"(, 30], "datatype": "FP32", "data": [)" + data + "]}]}";
  request.body.reserve(request.body.size() + inferd::http::kBodyPadding);
  return request;
}

inferd::http::Request BinaryRequest(int rows) {
  std::vector<float> values;
  for (const auto& row : Rows(rows)) {
    for (const auto& v : row) values.push_back(std::stof(v));
  }
  std::string header = R"({"inputs": [{"name": "input__0", "shape": [)" + std::to_string(rows) +
                       R"(, 30], "datatype": "FP32", "parameters": {"binary_data_size": )" +
                       std::to_string(4 * values.size()) + "}}]}";
  inferd::http::Request request;
  request.method = "POST";
  request.headers.emplace_back("Inference-Header-Content-Length", std::to_string(header.size()));
  request.body = header;
  request.body.append(reinterpret_cast<const char*>(values.data()), 4 * values.size());
  request.body.reserve(request.body.size() + inferd::http::kBodyPadding);
  return request;
}

// Parses `request` (range(0) rows of 30 values) once per iteration.
void Parse(benchmark::State& state, const inferd::http::Request& request) {
  for (auto _ : state) {
    auto parsed = ParseInferRequest(request);
    if (!parsed.ok()) state.SkipWithError(parsed.status().message().c_str());
    benchmark::DoNotOptimize(parsed);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * 30);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(request.body.size()));
}

void BM_ParseJson(benchmark::State& state) {
  Parse(state, JsonRequest(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_ParseJson)->Arg(1)->Arg(64);

void BM_ParseBinary(benchmark::State& state) {
  Parse(state, BinaryRequest(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_ParseBinary)->Arg(1)->Arg(64);

void BM_EncodeJson(benchmark::State& state) {
  std::vector<float> values(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < values.size(); ++i) values[i] = 1.0f / static_cast<float>(i + 3);
  std::vector<InferOutput> outputs{{"output__0", {state.range(0)}, values.data(), false}};
  for (auto _ : state) {
    auto response = EncodeInferResponse("breast_cancer", 1, "", outputs);
    benchmark::DoNotOptimize(response);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeJson)->Arg(1)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
