#include "model/ubjson_check.h"

#include <cstdint>
#include <string>

namespace inferd::model {
namespace {

class UbjsonChecker {
 public:
  explicit UbjsonChecker(std::string_view bytes) : bytes_(bytes) {}

  Status Check() {
    char marker = 0;
    RETURN_IF_ERROR(Next(&marker));
    return Value(marker, 0);
  }

 private:
  size_t remaining() const { return bytes_.size() - at_; }

  Status Error(const std::string& what) const {
    return InvalidArgument("not a whole UBJSON model: " + what + " at byte " + std::to_string(at_) +
                           " of " + std::to_string(bytes_.size()));
  }

  Status Next(char* marker) {
    if (remaining() == 0) return Error("the file ends inside a value");
    *marker = bytes_[at_++];
    return Status::Ok();
  }

  Status Skip(uint64_t n) {
    if (n > remaining()) return Error(std::to_string(n) + " bytes declared, fewer left");
    at_ += n;
    return Status::Ok();
  }

  // The size of a value of fixed size with this marker; 0 for the others.
  static size_t FixedSize(char marker) {
    switch (marker) {
      case 'i':
      case 'U':
      case 'C':
        return 1;
      case 'I':
        return 2;
      case 'l':
      case 'd':
        return 4;
      case 'L':
      case 'D':
        return 8;
      default:
        return 0;
    }
  }

  // A length or count: an integer value (big-endian) that must fit in what remains.
  Status Length(uint64_t* n) {
    char marker = 0;
    RETURN_IF_ERROR(Next(&marker));
    const size_t size = marker == 'C' ? 0 : FixedSize(marker);
    if (size == 0 || marker == 'd' || marker == 'D')
      return Error("a length that is not an integer");
    if (size > remaining()) return Error("the file ends inside a length");
    uint64_t value = 0;
    for (size_t k = 0; k < size; ++k) value = value << 8 | static_cast<uint8_t>(bytes_[at_ + k]);
    const bool negative = marker != 'U' && (static_cast<uint8_t>(bytes_[at_]) & 0x80);
    at_ += size;
    if (negative) return Error("a negative length");
    if (value > remaining())
      return Error("a length of " + std::to_string(value) + ", past the end");
    *n = value;
    return Status::Ok();
  }

  Status Value(char marker, int depth) {
    if (const size_t size = FixedSize(marker)) return Skip(size);
    switch (marker) {
      case 'Z':
      case 'N':
      case 'T':
      case 'F':
        return Status::Ok();
      case 'S':
      case 'H': {
        uint64_t n = 0;
        RETURN_IF_ERROR(Length(&n));
        return Skip(n);
      }
      case '[':
      case '{':
        if (depth >= kMaxUbjsonDepth) {
          return Error("nesting deeper than " + std::to_string(kMaxUbjsonDepth));
        }
        return Container(marker == '{', depth + 1);
      default:
        return Error(std::string("an unknown marker 0x") + "0123456789abcdef"[(marker >> 4) & 0xF] +
                     "0123456789abcdef"[marker & 0xF]);
    }
  }

  Status Key() {
    uint64_t n = 0;
    RETURN_IF_ERROR(Length(&n));
    return Skip(n);
  }

  // After '[' or '{': [$type] [#count] then the members; ']' or '}' ends one
  // without a count.
  Status Container(bool object, int depth) {
    char type = 0;
    if (remaining() > 0 && bytes_[at_] == '$') {
      ++at_;
      RETURN_IF_ERROR(Next(&type));
      if (remaining() == 0 || bytes_[at_] != '#') return Error("a typed container without a count");
    }
    if (remaining() > 0 && bytes_[at_] == '#') {
      ++at_;
      uint64_t count = 0;
      RETURN_IF_ERROR(Length(&count));  // each member takes at least a byte
      if (const size_t size = FixedSize(type); size > 0 && !object) {
        if (count > remaining() / size) return Error("a typed array past the end");
        at_ += count * size;
        return Status::Ok();
      }
      for (uint64_t i = 0; i < count; ++i) {
        if (object) RETURN_IF_ERROR(Key());
        char marker = type;
        if (type == 0) RETURN_IF_ERROR(Next(&marker));
        RETURN_IF_ERROR(Value(marker, depth));
      }
      return Status::Ok();
    }
    const char end = object ? '}' : ']';
    while (true) {
      if (remaining() == 0) return Error("the file ends inside a container");
      if (bytes_[at_] == end) {
        ++at_;
        return Status::Ok();
      }
      if (object) RETURN_IF_ERROR(Key());
      char marker = 0;
      RETURN_IF_ERROR(Next(&marker));
      RETURN_IF_ERROR(Value(marker, depth));
    }
  }

  std::string_view bytes_;
  size_t at_ = 0;
};

}  // namespace

Status CheckUbjson(std::string_view bytes) { return UbjsonChecker(bytes).Check(); }

}  // namespace inferd::model
