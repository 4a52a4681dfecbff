// Model files into the native engine, one target per format (FUZZ_FORMAT names
// it: fuzz_xgboost_json, fuzz_xgboost_ubj, fuzz_lightgbm, fuzz_onnx). A model
// that loads is then asked for everything it serves (predictions in both
// output kinds, an iteration range, contributions, leaves) on rows with
// missing, zero, huge and ordinary values: a hostile file must fail to load or
// answer, never read out of bounds.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "model/runtime.h"

using namespace inferd::model;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  VersionFile file;
  file.version = 1;
  file.format = ModelFormat::FUZZ_FORMAT;
  file.filename = FUZZ_FILENAME;
  file.bytes.assign(reinterpret_cast<const char*>(data), size);
  auto loaded = LoadModel(file, Runtime::kNative);
  if (!loaded.ok()) return 0;
  const Model& model = *loaded->model;
  const ModelInfo& info = model.info();
  if (info.num_features <= 0 || info.num_features > 4096) return 0;
  constexpr float kValues[] = {std::numeric_limits<float>::quiet_NaN(), 0.0f, -1.0f, 0.5f, 1e30f,
                               -std::numeric_limits<float>::infinity(), 3.0f, 1e-30f};
  constexpr int64_t kRows = 9;  // odd: the engine's 8-row and 2-row blocks and a last row
  std::vector<float> rows(kRows * info.num_features);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = kValues[(i * 7 + i / 3) % 8];
  std::vector<float> out;
  (void)model.Predict(rows.data(), kRows, OutputKind::kProbability, &out);
  (void)model.Predict(rows.data(), 1, OutputKind::kMargin, &out);
  PredictOptions first_round;
  first_round.iteration_end = 1;
  (void)model.PredictWith(rows.data(), kRows, first_round, &out);
  (void)model.Contributions(rows.data(), 2, PredictOptions{}, &out);
  std::vector<int32_t> leaves;
  (void)model.Leaves(rows.data(), kRows, PredictOptions{}, &leaves);
  return 0;
}
