// The native tree engine against libxgboost's in-place prediction, one row and
// 64-row batches, on the demo model (100 trees, depth 6, 30 features) and on a
// larger one trained here (500 trees, depth 8, same data); TreeSHAP against
// libxgboost's pred_contribs; and, on a LightGBM model trained here on the same
// data (100 trees, 31 leaves), against LightGBM's own predictor and pred_contrib,
// called through the C API of the lightgbm wheel's lib_lightgbm.so (found in
// .venv or at $INFERD_LIGHTGBM_LIB; those benchmarks are skipped without it).
//   build/engine_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <glob.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "model/tree_model.h"
#include "model/xgboost_model.h"
#include "train/table.h"

namespace {

using inferd::model::OutputKind;
using inferd::model::PredictOptions;
using inferd::model::TreeModel;
using inferd::model::XgboostModel;

struct Fixture {
  std::vector<float> x, y;
  int64_t rows = 0, cols = 0;
  std::unique_ptr<XgboostModel> demo_xgb, large_xgb;
  std::unique_ptr<TreeModel> demo_native, large_native;
};

std::unique_ptr<TreeModel> Native(const XgboostModel& m) {
  return std::move(TreeModel::FromXgboostJson(*m.SaveJson(), m.info())).value();
}

Fixture& Get() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    auto table = inferd::train::ReadCsvPath(INFERD_TEST_DATA "/breast_cancer.csv").value();
    f->rows = table.rows;
    f->cols = static_cast<int64_t>(table.columns.size()) - 1;
    for (int64_t r = 0; r < f->rows; ++r) {
      for (int64_t c = 0; c < f->cols; ++c) f->x.push_back(float(table.columns[c].values[r]));
      f->y.push_back(float(table.columns.back().values[r]));
    }
    f->demo_xgb = XgboostModel::Load(INFERD_TEST_DATA "/models/breast_cancer/1/model.json").value();
    f->demo_native = Native(*f->demo_xgb);
    DMatrixHandle dm;
    BoosterHandle booster;
    XGDMatrixCreateFromMat(f->x.data(), f->rows, f->cols, NAN, &dm);
    XGDMatrixSetFloatInfo(dm, "label", f->y.data(), f->rows);
    XGBoosterCreate(&dm, 1, &booster);
    for (auto [k, v] : {std::pair{"objective", "binary:logistic"},
                        {"max_depth", "8"},
                        {"eta", "0.05"},
                        {"nthread", "1"},
                        {"min_child_weight", "0"}}) {
      XGBoosterSetParam(booster, k, v);
    }
    for (int i = 0; i < 500; ++i) XGBoosterUpdateOneIter(booster, i, dm);
    bst_ulong len;
    const char* bytes;
    XGBoosterSaveModelToBuffer(booster, R"({"format": "ubj"})", &len, &bytes);
    f->large_xgb = XgboostModel::LoadBytes(std::string_view(bytes, len), "model.ubj").value();
    f->large_native = Native(*f->large_xgb);
    XGBoosterFree(booster);
    XGDMatrixFree(dm);
    return f;
  }();
  return *f;
}

template <bool kNative, bool kLarge>
void BM_Predict(benchmark::State& state) {
  Fixture& f = Get();
  const inferd::model::Model& model =
      kNative ? static_cast<const inferd::model::Model&>(kLarge ? *f.large_native : *f.demo_native)
              : static_cast<const inferd::model::Model&>(kLarge ? *f.large_xgb : *f.demo_xgb);
  const int64_t batch = state.range(0);
  std::vector<float> out;
  int64_t start = 0;
  for (auto _ : state) {
    if (start + batch > f.rows) start = 0;
    auto st = model.Predict(f.x.data() + start * f.cols, batch, OutputKind::kProbability, &out);
    benchmark::DoNotOptimize(out.data());
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    start += batch;
  }
  state.SetItemsProcessed(state.iterations() * batch);
  if constexpr (kNative) {
    const auto& m = kLarge ? *f.large_native : *f.demo_native;
    state.counters["trees"] = double(m.num_trees());
    state.counters["nodes"] = double(m.num_nodes());
  }
}

// tl2cgen-compiled C code of the same two models: bench/tl2cgen_compile.py builds
// each variant (plain, annotated branches, quantized thresholds, both) into
// build/tl2cgen at the first tl2cgen benchmark; those are skipped, naming why,
// when it cannot (no treelite/tl2cgen in .venv, no compiler).
enum Tl2cgenVariant { kPlain, kAnnotate, kQuantize, kBoth };
constexpr const char* kVariantNames[] = {"plain", "annotate", "quantize", "both"};

// The Entry union of tl2cgen's generated header.
union Tl2cgenEntry {
  int missing;
  float fvalue;
  int qvalue;
};
using Tl2cgenPredict = void (*)(Tl2cgenEntry*, int, float*);

struct Tl2cgenLibraries {
  Tl2cgenPredict predict[2][4] = {};  // [large][variant]
  std::string error;
};

// Writes `bytes` to `path` unless it already holds them (the compile script
// rebuilds a library only when its model file is newer).
void WriteIfChanged(const std::string& path, const std::string& bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream old;
  old << in.rdbuf();
  if (in && old.str() == bytes) return;
  std::ofstream(path, std::ios::binary) << bytes;
}

Tl2cgenLibraries& Tl2cgen() {
  static Tl2cgenLibraries* libs = [] {
    auto* libs = new Tl2cgenLibraries;
    Fixture& f = Get();
    const std::string dir = INFERD_BINARY_DIR "/tl2cgen";
    std::filesystem::create_directories(dir);
    WriteIfChanged(dir + "/demo.json", *f.demo_xgb->SaveJson());
    WriteIfChanged(dir + "/large.json", *f.large_xgb->SaveJson());
    const std::string command =
        INFERD_SOURCE_DIR "/.venv/bin/python " INFERD_SOURCE_DIR "/bench/tl2cgen_compile.py " + dir;
    if (std::system(command.c_str()) != 0) {
      libs->error = "'" + command + "' failed: pip install treelite tl2cgen into .venv";
      return libs;
    }
    for (int large = 0; large < 2; ++large) {
      for (int v = 0; v < 4; ++v) {
        const std::string path = dir + (large ? "/large." : "/demo.") + kVariantNames[v] + ".so";
        void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        void* fn = lib ? dlsym(lib, "predict") : nullptr;
        if (!fn) {
          libs->error = path + ": " + dlerror();
          return libs;
        }
        libs->predict[large][v] = reinterpret_cast<Tl2cgenPredict>(fn);
      }
    }
    return libs;
  }();
  return *libs;
}

// As tl2cgen's own runtime: each row copied into Entry form (NaN marked
// missing; quantized variants overwrite it), its outputs zeroed, predict with
// the objective's transform.
template <bool kLarge, Tl2cgenVariant kVariant>
void BM_Tl2cgen(benchmark::State& state) {
  Tl2cgenLibraries& libs = Tl2cgen();
  if (!libs.error.empty()) {
    state.SkipWithError(libs.error.c_str());
    return;
  }
  Fixture& f = Get();
  const Tl2cgenPredict predict = libs.predict[kLarge][kVariant];
  const int64_t batch = state.range(0);
  std::vector<Tl2cgenEntry> entries(f.cols);
  std::vector<float> out(batch);
  // Outputs against the native engine's, over every row once.
  const TreeModel& native = kLarge ? *f.large_native : *f.demo_native;
  std::vector<float> expected;
  (void)native.Predict(f.x.data(), f.rows, OutputKind::kProbability, &expected);
  double largest_difference = 0;
  auto predict_rows = [&](const float* rows, int64_t n, float* dest) {
    for (int64_t r = 0; r < n; ++r) {
      const float* row = rows + r * f.cols;
      for (int64_t c = 0; c < f.cols; ++c) {
        if (std::isnan(row[c])) {
          entries[c].missing = -1;
        } else {
          entries[c].fvalue = row[c];
        }
      }
      dest[r] = 0;
      predict(entries.data(), 0, dest + r);
    }
  };
  for (int64_t r = 0; r < f.rows; ++r) {
    float got;
    predict_rows(f.x.data() + r * f.cols, 1, &got);
    largest_difference = std::max(largest_difference, double(std::fabs(got - expected[r])));
  }
  int64_t start = 0;
  for (auto _ : state) {
    if (start + batch > f.rows) start = 0;
    predict_rows(f.x.data() + start * f.cols, batch, out.data());
    benchmark::DoNotOptimize(out.data());
    start += batch;
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["max_diff_vs_native"] = largest_difference;
}

// One registration per model, the engines interleaved so that they share the
// machine's state (other load, frequency) as closely as a run allows.
void RegisterPredictions() {
  for (bool large : {false, true}) {
    const std::string model = large ? "large_500_trees/" : "demo_100_trees/";
    auto add = [&](const std::string& name, auto fn) {
      benchmark::RegisterBenchmark((model + name).c_str(), fn)->Arg(1)->Arg(64);
    };
    if (large) {
      add("libxgboost", BM_Predict<false, true>);
      add("native", BM_Predict<true, true>);
      add("tl2cgen_plain", BM_Tl2cgen<true, kPlain>);
      add("tl2cgen_annotate", BM_Tl2cgen<true, kAnnotate>);
      add("tl2cgen_quantize", BM_Tl2cgen<true, kQuantize>);
      add("tl2cgen_annotate_quantize", BM_Tl2cgen<true, kBoth>);
    } else {
      add("libxgboost", BM_Predict<false, false>);
      add("native", BM_Predict<true, false>);
      add("tl2cgen_plain", BM_Tl2cgen<false, kPlain>);
      add("tl2cgen_annotate", BM_Tl2cgen<false, kAnnotate>);
      add("tl2cgen_quantize", BM_Tl2cgen<false, kQuantize>);
      add("tl2cgen_annotate_quantize", BM_Tl2cgen<false, kBoth>);
    }
  }
}

// libxgboost's pred_contribs: a DMatrix of the rows (the only way libxgboost
// 1.7 computes contributions), then PredictFromDMatrix.
template <bool kNative>
void BM_Contributions(benchmark::State& state) {
  Fixture& f = Get();
  const int64_t batch = state.range(0);
  std::vector<float> out;
  BoosterHandle booster = nullptr;
  if constexpr (!kNative) {
    std::ifstream in(INFERD_TEST_DATA "/models/breast_cancer/1/model.json");
    std::stringstream json;
    json << in.rdbuf();
    const std::string text = json.str();
    XGBoosterCreate(nullptr, 0, &booster);
    XGBoosterLoadModelFromBuffer(booster, text.data(), text.size());
    XGBoosterSetParam(booster, "nthread", "1");
  }
  int64_t start = 0;
  for (auto _ : state) {
    if (start + batch > f.rows) start = 0;
    const float* rows = f.x.data() + start * f.cols;
    if constexpr (kNative) {
      auto st = f.demo_native->Contributions(rows, batch, PredictOptions{}, &out);
      if (!st.ok()) state.SkipWithError(st.ToString().c_str());
      benchmark::DoNotOptimize(out.data());
    } else {
      DMatrixHandle dm;
      XGDMatrixCreateFromMat(rows, batch, f.cols, NAN, &dm);
      const bst_ulong* shape;
      bst_ulong dims;
      const float* result;
      XGBoosterPredictFromDMatrix(
          booster, dm,
          R"({"type": 2, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
          R"( "strict_shape": false})",
          &shape, &dims, &result);
      benchmark::DoNotOptimize(result);
      XGDMatrixFree(dm);
    }
    start += batch;
  }
  if (booster) XGBoosterFree(booster);
  state.SetItemsProcessed(state.iterations() * batch);
}

BENCHMARK(BM_Contributions<false>)
    ->Name("demo_100_trees/libxgboost_pred_contribs")
    ->Arg(1)
    ->Arg(64);
BENCHMARK(BM_Contributions<true>)->Name("demo_100_trees/native_contributions")->Arg(1)->Arg(64);

// LightGBM's C API, from the wheel's shared library.
struct LightgbmApi {
  void* lib = nullptr;
  int (*dataset_from_mat)(const void*, int, int32_t, int32_t, int, const char*, const void*,
                          void**);
  int (*dataset_set_field)(void*, const char*, const void*, int, int);
  int (*booster_create)(const void*, const char*, void**);
  int (*update_one_iter)(void*, int*);
  int (*save_to_string)(void*, int, int, int, int64_t, int64_t*, char*);
  int (*predict_for_mat)(void*, const void*, int, int32_t, int32_t, int, int, int, int, const char*,
                         int64_t*, double*);
  int (*fast_init)(void*, int, int, int, int, int32_t, const char*, void**);
  int (*fast_predict)(void*, const void*, int64_t*, double*);
  std::string error;
};

constexpr int kFloat32 = 0;         // C_API_DTYPE_FLOAT32
constexpr int kPredictNormal = 0;   // C_API_PREDICT_NORMAL
constexpr int kPredictContrib = 3;  // C_API_PREDICT_CONTRIB

LightgbmApi& Lightgbm() {
  static LightgbmApi* api = [] {
    auto* api = new LightgbmApi;
    std::string path;
    if (const char* env = std::getenv("INFERD_LIGHTGBM_LIB")) {
      path = env;
    } else {
      glob_t found;
      if (glob(INFERD_SOURCE_DIR "/.venv/lib/python3*/site-packages/lightgbm/lib/lib_lightgbm.so",
               0, nullptr, &found) == 0 &&
          found.gl_pathc > 0) {
        path = found.gl_pathv[0];
      }
      globfree(&found);
    }
    if (path.empty() || !(api->lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL))) {
      api->error =
          "lib_lightgbm.so not found: pip install lightgbm into .venv, or set "
          "INFERD_LIGHTGBM_LIB";
      return api;
    }
    auto sym = [&](auto* fn, const char* name) {
      *fn = reinterpret_cast<std::remove_pointer_t<decltype(fn)>>(dlsym(api->lib, name));
      if (!*fn) api->error = std::string("lib_lightgbm.so lacks ") + name;
    };
    sym(&api->dataset_from_mat, "LGBM_DatasetCreateFromMat");
    sym(&api->dataset_set_field, "LGBM_DatasetSetField");
    sym(&api->booster_create, "LGBM_BoosterCreate");
    sym(&api->update_one_iter, "LGBM_BoosterUpdateOneIter");
    sym(&api->save_to_string, "LGBM_BoosterSaveModelToString");
    sym(&api->predict_for_mat, "LGBM_BoosterPredictForMat");
    sym(&api->fast_init, "LGBM_BoosterPredictForMatSingleRowFastInit");
    sym(&api->fast_predict, "LGBM_BoosterPredictForMatSingleRowFast");
    return api;
  }();
  return *api;
}

// A LightGBM booster trained on the demo data, and the native engine of its text.
struct LightgbmFixture {
  void* booster = nullptr;
  std::unique_ptr<TreeModel> native;
  std::string error;
};

LightgbmFixture& GetLightgbm() {
  static LightgbmFixture* fixture = [] {
    auto* lf = new LightgbmFixture;
    LightgbmApi& api = Lightgbm();
    if (!api.error.empty()) {
      lf->error = api.error;
      return lf;
    }
    Fixture& f = Get();
    const char* params = "objective=binary num_leaves=31 num_threads=1 verbose=-1 seed=1";
    void* dataset = nullptr;
    api.dataset_from_mat(f.x.data(), kFloat32, int32_t(f.rows), int32_t(f.cols), 1, params, nullptr,
                         &dataset);
    api.dataset_set_field(dataset, "label", f.y.data(), int(f.rows), kFloat32);
    api.booster_create(dataset, params, &lf->booster);
    int finished = 0;
    for (int i = 0; i < 100; ++i) api.update_one_iter(lf->booster, &finished);
    int64_t size = 0;
    api.save_to_string(lf->booster, 0, -1, 0, 0, &size, nullptr);
    std::string text(size, '\0');
    api.save_to_string(lf->booster, 0, -1, 0, size, &size, text.data());
    text.resize(size > 0 ? size - 1 : 0);
    auto native = TreeModel::FromLightgbmText(text);
    if (!native.ok()) {
      lf->error = native.status().ToString();
      return lf;
    }
    lf->native = std::move(native).value();
    return lf;
  }();
  return *fixture;
}

template <bool kNative, bool kContributions>
void BM_Lightgbm(benchmark::State& state) {
  LightgbmFixture& lf = GetLightgbm();
  if (!lf.error.empty()) {
    state.SkipWithError(lf.error.c_str());
    return;
  }
  Fixture& f = Get();
  LightgbmApi& api = Lightgbm();
  const int64_t batch = state.range(0);
  const int type = kContributions ? kPredictContrib : kPredictNormal;
  void* fast = nullptr;
  if (!kNative && batch == 1) {
    api.fast_init(lf.booster, type, 0, -1, kFloat32, int32_t(f.cols), "num_threads=1", &fast);
  }
  std::vector<double> result(batch * (f.cols + 1));
  std::vector<float> out;
  int64_t start = 0;
  for (auto _ : state) {
    if (start + batch > f.rows) start = 0;
    const float* rows = f.x.data() + start * f.cols;
    if constexpr (kNative) {
      auto st = kContributions ? lf.native->Contributions(rows, batch, PredictOptions{}, &out)
                               : lf.native->Predict(rows, batch, OutputKind::kProbability, &out);
      if (!st.ok()) state.SkipWithError(st.ToString().c_str());
      benchmark::DoNotOptimize(out.data());
    } else {
      int64_t len = 0;
      if (batch == 1) {
        api.fast_predict(fast, rows, &len, result.data());
      } else {
        api.predict_for_mat(lf.booster, rows, kFloat32, int32_t(batch), int32_t(f.cols), 1, type, 0,
                            -1, "num_threads=1", &len, result.data());
      }
      benchmark::DoNotOptimize(result.data());
    }
    start += batch;
  }
  state.SetItemsProcessed(state.iterations() * batch);
  if constexpr (kNative) {
    state.counters["trees"] = double(lf.native->num_trees());
    state.counters["nodes"] = double(lf.native->num_nodes());
  }
}

BENCHMARK(BM_Lightgbm<false, false>)->Name("lightgbm_100_trees/lightgbm")->Arg(1)->Arg(64);
BENCHMARK(BM_Lightgbm<true, false>)->Name("lightgbm_100_trees/native")->Arg(1)->Arg(64);
BENCHMARK(BM_Lightgbm<false, true>)
    ->Name("lightgbm_100_trees/lightgbm_pred_contrib")
    ->Arg(1)
    ->Arg(64);
BENCHMARK(BM_Lightgbm<true, true>)
    ->Name("lightgbm_100_trees/native_contributions")
    ->Arg(1)
    ->Arg(64);

// An ONNX model named by $INFERD_ONNX_MODEL (bench/onnx_bench.py writes one and runs
// this with it, to set the figures beside onnxruntime's), on rows of its width from
// $INFERD_ONNX_ROWS (raw float32); skipped without them.
void BM_Onnx(benchmark::State& state) {
  static std::unique_ptr<TreeModel> model;
  static std::vector<float> rows;
  static std::string error = [] {
    const char* path = std::getenv("INFERD_ONNX_MODEL");
    const char* data = std::getenv("INFERD_ONNX_ROWS");
    if (!path || !data) return std::string("INFERD_ONNX_MODEL and INFERD_ONNX_ROWS not set");
    std::ifstream in(path, std::ios::binary), raw(data, std::ios::binary);
    std::stringstream bytes, floats;
    bytes << in.rdbuf();
    floats << raw.rdbuf();
    auto loaded = TreeModel::FromOnnx(bytes.str());
    if (!loaded.ok()) return loaded.status().ToString();
    model = std::move(loaded).value();
    const std::string f = floats.str();
    rows.resize(f.size() / sizeof(float));
    std::memcpy(rows.data(), f.data(), rows.size() * sizeof(float));
    return std::string();
  }();
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  const int64_t cols = model->info().num_features;
  const int64_t total = static_cast<int64_t>(rows.size()) / cols;
  const int64_t batch = state.range(0);
  std::vector<float> out;
  int64_t start = 0;
  for (auto _ : state) {
    if (start + batch > total) start = 0;
    auto st = model->Predict(rows.data() + start * cols, batch, OutputKind::kProbability, &out);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    benchmark::DoNotOptimize(out.data());
    start += batch;
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["trees"] = double(model->num_trees());
  state.counters["nodes"] = double(model->num_nodes());
}

BENCHMARK(BM_Onnx)->Name("onnx/native")->Arg(1)->Arg(64);

}  // namespace

int main(int argc, char** argv) {
  RegisterPredictions();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
