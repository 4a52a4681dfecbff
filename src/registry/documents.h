// Helpers shared by the registry's and the tracking store's documents:
// key/value maps stored as [{key, value}] arrays (keys such as
// "mlflow.source.type" hold dots, which MongoDB field names should not), and
// the retry loop of optimistic read-modify-write changes. Internal to
// registry/; include only where simdjson is linked.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "common/json_writer.h"
#include "common/status.h"

namespace inferd::registry::internal {

// Read-modify-write loops: how often a writer re-reads a document another
// writer changed first, and the random pause before each retry (up to
// kBackoffBaseUs << kBackoffDoublings) that spreads racing writers out.
inline constexpr int kMaxWriteAttempts = 32;
inline constexpr int kBackoffBaseUs = 500;
inline constexpr int kBackoffDoublings = 5;

inline void WritePairs(JsonWriter& json, const char* key,
                       const std::map<std::string, std::string>& m) {
  json.Key(key).BeginArray();
  for (const auto& [k, v] : m) {
    json.BeginObject().Key("key").String(k).Key("value").String(v).EndObject();
  }
  json.EndArray();
}

inline std::map<std::string, std::string> ReadPairs(simdjson::dom::element doc, const char* key) {
  std::map<std::string, std::string> out;
  simdjson::dom::array array;
  if (doc[key].get(array) != simdjson::SUCCESS) return out;
  for (auto item : array) {
    std::string_view k, v;
    if (item["key"].get(k) == simdjson::SUCCESS && item["value"].get(v) == simdjson::SUCCESS) {
      out.emplace(k, v);
    }
  }
  return out;
}

inline const Status& StatusOf(const Status& status) { return status; }
template <typename T>
const Status& StatusOf(const StatusOr<T>& result) {
  return result.status();
}

// Runs `attempt` (a read-modify-write) again while it fails with
// FailedPrecondition: another writer got there first (changed the document it
// read, took the id it inserted). Only such races may produce that code in
// `attempt`, and it never leaves here: after kMaxWriteAttempts, Unavailable
// naming `what`.
template <typename Fn>
auto RetryOnConflict(const std::string& what, Fn attempt) -> decltype(attempt()) {
  thread_local std::minstd_rand random(std::random_device{}());
  for (int i = 1;; ++i) {
    auto result = attempt();
    if (StatusOf(result).code() != StatusCode::kFailedPrecondition) return result;
    if (i == kMaxWriteAttempts) break;
    const int cap_us = kBackoffBaseUs << std::min(i - 1, kBackoffDoublings);
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(0, cap_us)(random)));
  }
  return Unavailable(what + " is being changed by too many writers at once; retry");
}

}  // namespace inferd::registry::internal
