#include "common/json_writer.h"

#include <charconv>
#include <cmath>

namespace inferd {
namespace {

template <typename T>
void AppendNumber(std::string* out, T v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms,
// surrogates or code points past U+10FFFF) that starts at s[i], a byte of
// 0x80 or more; 0 when none does.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = byte(0);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    if (c == 0xE0) low = 0xA0;
    if (c == 0xED) high = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    if (c == 0xF0) low = 0x90;
    if (c == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (s.size() - i < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t plain = 0;  // start of the run of characters that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) continue;
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(s, i);
      if (length > 0) {
        i += length - 1;
        continue;
      }
    }
    out->append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c >= 0x80) {  // not UTF-8: U+FFFD, the replacement character
          out->append("\\ufffd");
          break;
        }
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
  }
  out->append(s.data() + plain, s.size() - plain);
  out->push_back('"');
}

std::string JsonError(std::string_view message) {
  std::string out;
  JsonWriter(&out).BeginObject().Key("error").String(message).EndObject();
  return out;
}

void JsonWriter::Separate() {
  if (need_comma_) out_->push_back(',');
  need_comma_ = true;
}

JsonWriter& JsonWriter::BeginObject() {
  Separate();
  out_->push_back('{');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_->push_back('}');
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Separate();
  out_->push_back('[');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_->push_back(']');
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  AppendJsonString(out_, key);
  out_->push_back(':');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view s) {
  Separate();
  AppendJsonString(out_, s);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool b) {
  Separate();
  out_->append(b ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  out_->append("null");
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t v) {
  Separate();
  AppendNumber(out_, v);
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t v) {
  Separate();
  AppendNumber(out_, v);
  return *this;
}

namespace {

template <typename T>
void AppendReal(std::string* out, T v, JsonWriter::NonFinite non_finite) {
  // At 2^63 and past, the shortest text may be digits alone (3.0e19 as
  // 30000000000000000000), which JSON readers that keep integers in 64 bits
  // (simdjson: BIGINT_ERROR) refuse; those are written with an exponent.
  constexpr T kFirstUnreadableInteger = 0x1p63;
  if (std::isfinite(v) && std::fabs(v) >= kFirstUnreadableInteger) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
    out->append(buf, end);
    return;
  }
  if (std::isfinite(v)) {
    AppendNumber(out, v);
    return;
  }
  const char* word = std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
  switch (non_finite) {
    case JsonWriter::NonFinite::kNull: out->append("null"); break;
    case JsonWriter::NonFinite::kTritonTokens: out->append(word); break;
    case JsonWriter::NonFinite::kStrings: AppendJsonString(out, word); break;
  }
}

}  // namespace

JsonWriter& JsonWriter::Float(float v, NonFinite non_finite) {
  Separate();
  AppendReal(out_, v, non_finite);
  return *this;
}

JsonWriter& JsonWriter::Double(double v, NonFinite non_finite) {
  Separate();
  AppendReal(out_, v, non_finite);
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  Separate();
  out_->append(json);
  return *this;
}

}  // namespace inferd
