// JsonWriter: appends compact JSON to a string, for building response bodies
// without a DOM. Numbers use the shortest text that reads back to the same value
// (std::to_chars; from 2^63 on with an exponent, never as a too-big integer);
// non-finite numbers, which JSON cannot express, are written as null (or, where
// asked, as Triton's tokens). The writer tracks commas itself; it
// does not validate nesting, so callers pair every Begin* with its End*. Not
// thread-safe; one writer per response.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace inferd {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // Writes `"key":`; the next value call completes the member.
  JsonWriter& Key(std::string_view key);

  JsonWriter& String(std::string_view s);
  JsonWriter& Bool(bool b);
  JsonWriter& Null();
  JsonWriter& Int(int64_t v);
  JsonWriter& Uint(uint64_t v);
  // How Float and Double write NaN and the infinities: null; the bare tokens
  // NaN, Infinity and -Infinity that Triton writes (rapidjson's
  // kWriteNanAndInfFlag) and its clients read, which are not JSON; or those
  // words as JSON strings, as protobuf's JSON mapping (MLflow) has them.
  enum class NonFinite { kNull, kTritonTokens, kStrings };
  JsonWriter& Float(float v, NonFinite non_finite = NonFinite::kNull);
  JsonWriter& Double(double v, NonFinite non_finite = NonFinite::kNull);
  // Inserts already-serialized JSON as one value.
  JsonWriter& Raw(std::string_view json);

 private:
  void Separate();

  std::string* out_;
  bool need_comma_ = false;
};

// Appends `s` to `out` as a quoted JSON string with escapes. A byte that is not
// part of well-formed UTF-8 is written as U+FFFD, so that the output is always
// JSON (simdjson, and every strict reader, refuses anything else).
void AppendJsonString(std::string* out, std::string_view s);

// Returns `{"error": message}`, the body of every V2 error response.
std::string JsonError(std::string_view message);

}  // namespace inferd
