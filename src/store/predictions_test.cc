#include "store/predictions.h"

#include <gtest/gtest.h>

namespace inferd::store {
namespace {

constexpr char kLegacy[] =
    R"({"model": "iris", "version": 1, "time": 1764460800000, "latency_us": 350,)"
    R"( "inputs": {"shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]},)"
    R"( "outputs": {"shape": [1, 3], "data": [0.9, 0.05, 0.05]}})";

TEST(PredictionsTest, ReadsALegacyJsonRecord) {
  auto r = PredictionFromLegacyJson("id-1", kLegacy);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model, "iris");
  EXPECT_EQ(r->rows, 1);
  EXPECT_EQ(r->inputs.size(), 4u);
  EXPECT_EQ(r->kind, "multiclass");
}

// A legacy document (a spool line, an old SQLite row, a MongoDB document)
// without its inputs or outputs, or with them not an object, is refused with
// InvalidArgument; it threw simdjson_error, which ended the process (found by
// fuzz_prediction_spool, replaying a JSON-lines spool).
TEST(PredictionsTest, ALegacyRecordWithoutItsTensorsIsRefusedNotThrown) {
  for (const char* json : {
           R"({"model": "iris", "version": 1})",
           R"({"model": "iris", "version": 1, "inputc": {"shape": [1, 4], "data": [1, 2, 3, 4]}})",
           R"({"model": "iris", "version": 1, "inputs": 7, "outputs": 1})",
           R"({"model": "iris", "version": 1, "inputs": {"shape": [1, 1], "data": [1]}})",
       }) {
    auto r = PredictionFromLegacyJson("id-2", json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << json;
  }
}

}  // namespace
}  // namespace inferd::store
