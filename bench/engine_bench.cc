// The native tree engine against libxgboost's in-place prediction, one row and
// 64-row batches, on the demo model (100 trees, depth 6, 30 features) and on a
// larger one trained here (500 trees, depth 8, same data).
//   build/engine_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>

#include "model/tree_model.h"
#include "model/xgboost_model.h"
#include "train/table.h"

namespace {

using inferd::model::OutputKind;
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
    for (auto [k, v] : {std::pair{"objective", "binary:logistic"}, {"max_depth", "8"},
                        {"eta", "0.05"}, {"nthread", "1"}, {"min_child_weight", "0"}}) {
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

BENCHMARK(BM_Predict<false, false>)->Name("demo_100_trees/libxgboost")->Arg(1)->Arg(64);
BENCHMARK(BM_Predict<true, false>)->Name("demo_100_trees/native")->Arg(1)->Arg(64);
BENCHMARK(BM_Predict<false, true>)->Name("large_500_trees/libxgboost")->Arg(1)->Arg(64);
BENCHMARK(BM_Predict<true, true>)->Name("large_500_trees/native")->Arg(1)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
