#include "train/columnar.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "common/json_fields.h"
#include "common/json_writer.h"

namespace inferd::train {
namespace fs = std::filesystem;
namespace {

constexpr char kMagic[8] = {'I', 'N', 'F', 'D', 'C', 'O', 'L', '1'};
constexpr size_t kAlign = 8;

size_t AlignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

}  // namespace

std::string ColumnarPath(const std::string& dir, const std::string& source_md5) {
  return (fs::path(dir) / (source_md5 + ".icol")).string();
}

Status WriteColumnar(const Table& table, const std::string& source_md5, const std::string& path) {
  const size_t rows = static_cast<size_t>(table.rows);
  // Dictionary codes of the categorical columns.
  std::vector<std::vector<int32_t>> codes(table.columns.size());
  std::vector<std::vector<std::string>> dictionaries(table.columns.size());
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const Column& column = table.columns[c];
    if (column.numeric) continue;
    std::unordered_map<std::string, int32_t> index;
    codes[c].reserve(rows);
    for (const auto& cell : column.strings) {
      if (cell.empty()) {
        codes[c].push_back(-1);
        continue;
      }
      auto [it, added] = index.emplace(cell, static_cast<int32_t>(dictionaries[c].size()));
      if (added) dictionaries[c].push_back(cell);
      codes[c].push_back(it->second);
    }
  }
  bool consecutive = true;
  for (size_t r = 0; r < rows; ++r) {
    if (table.lines[r] != table.lines[0] + static_cast<int64_t>(r)) consecutive = false;
  }
  // Offsets are relative to the start of the data, which follows the header.
  std::vector<size_t> offsets;
  size_t data = 0;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    offsets.push_back(data);
    data = AlignUp(data + rows * (table.columns[c].numeric ? sizeof(double) : sizeof(int32_t)));
  }
  const size_t lines_offset = data;
  if (!consecutive) data += rows * sizeof(int64_t);

  std::string header;
  JsonWriter json(&header);
  json.BeginObject().Key("source_md5").String(source_md5).Key("rows").Int(table.rows);
  json.Key("first_line").Int(rows ? table.lines[0] : 2);
  json.Key("lines").Int(consecutive ? -1 : static_cast<int64_t>(lines_offset));
  json.Key("columns").BeginArray();
  for (size_t c = 0; c < table.columns.size(); ++c) {
    json.BeginObject().Key("name").String(table.columns[c].name);
    json.Key("type").String(table.columns[c].numeric ? "f64" : "dict");
    json.Key("offset").Int(static_cast<int64_t>(offsets[c]));
    if (!table.columns[c].numeric) {
      json.Key("dictionary").BeginArray();
      for (const auto& value : dictionaries[c]) json.String(value);
      json.EndArray();
    }
    json.EndObject();
  }
  json.EndArray().EndObject();
  header.resize(AlignUp(sizeof(kMagic) + sizeof(uint64_t) + header.size()) - sizeof(kMagic) -
                    sizeof(uint64_t),
                ' ');

  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return Unavailable("cannot write " + temporary);
    const uint64_t header_size = header.size();
    out.write(kMagic, sizeof(kMagic));
    out.write(reinterpret_cast<const char*>(&header_size), sizeof(header_size));
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    size_t written = 0;
    auto pad_to = [&](size_t offset) {
      static constexpr char kZeros[kAlign] = {};
      out.write(kZeros, static_cast<std::streamsize>(offset - written));
      written = offset;
    };
    for (size_t c = 0; c < table.columns.size(); ++c) {
      pad_to(offsets[c]);
      const char* bytes;
      size_t n;
      if (table.columns[c].numeric) {
        bytes = reinterpret_cast<const char*>(table.columns[c].values.data());
        n = rows * sizeof(double);
      } else {
        bytes = reinterpret_cast<const char*>(codes[c].data());
        n = rows * sizeof(int32_t);
      }
      out.write(bytes, static_cast<std::streamsize>(n));
      written += n;
    }
    if (!consecutive) {
      pad_to(lines_offset);
      out.write(reinterpret_cast<const char*>(table.lines.data()),
                static_cast<std::streamsize>(rows * sizeof(int64_t)));
    }
    if (!out.flush()) return Unavailable("cannot write " + temporary + " (disk full?)");
  }
  fs::rename(temporary, path, ec);
  if (ec) {
    fs::remove(temporary, ec);
    return Unavailable("cannot move the columnar copy into " + path + ": " + ec.message());
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<ColumnarFile>> ColumnarFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  std::unique_ptr<ColumnarFile> file(new ColumnarFile());
  file->size_ = static_cast<size_t>(st.st_size);
  const std::string bad = path + " is not a columnar copy (or is truncated)";
  if (file->size_ < sizeof(kMagic) + sizeof(uint64_t)) {
    ::close(fd);
    return InvalidArgument(bad);
  }
  void* map = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return Unavailable("cannot map " + path + ": " + std::strerror(errno));
  file->map_ = map;
  const char* base = static_cast<const char*>(map);
  if (std::memcmp(base, kMagic, sizeof(kMagic)) != 0) return InvalidArgument(bad);
  uint64_t header_size = 0;
  std::memcpy(&header_size, base + sizeof(kMagic), sizeof(header_size));
  const size_t data_start = sizeof(kMagic) + sizeof(uint64_t) + header_size;
  if (data_start > file->size_) return InvalidArgument(bad);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string header(base + sizeof(kMagic) + sizeof(uint64_t), header_size);
  simdjson::dom::array columns;
  if (parser.parse(header).get(doc) != simdjson::SUCCESS ||
      doc["columns"].get(columns) != simdjson::SUCCESS) {
    return InvalidArgument(bad);
  }
  file->source_md5_ = JsonString(doc, "source_md5");
  file->rows_ = JsonInt(doc, "rows");
  file->first_line_ = JsonInt(doc, "first_line");
  const size_t rows = static_cast<size_t>(file->rows_);
  auto in_bounds = [&](int64_t offset, size_t bytes) {
    return offset >= 0 && data_start + static_cast<size_t>(offset) + bytes <= file->size_;
  };
  const int64_t lines = JsonInt(doc, "lines");
  if (lines >= 0) {
    if (!in_bounds(lines, rows * sizeof(int64_t))) return InvalidArgument(bad);
    file->lines_ = reinterpret_cast<const int64_t*>(base + data_start + lines);
  }
  for (auto c : columns) {
    const std::string type = JsonString(c, "type");
    const int64_t offset = JsonInt(c, "offset");
    file->names_.push_back(JsonString(c, "name"));
    const char* at = base + data_start + offset;
    if (type == "f64") {
      if (!in_bounds(offset, rows * sizeof(double))) return InvalidArgument(bad);
      file->numeric_.push_back(reinterpret_cast<const double*>(at));
      file->codes_.push_back(nullptr);
      file->dictionary_.emplace_back();
    } else {
      if (type != "dict" || !in_bounds(offset, rows * sizeof(int32_t))) {
        return InvalidArgument(bad);
      }
      file->numeric_.push_back(nullptr);
      file->codes_.push_back(reinterpret_cast<const int32_t*>(at));
      std::vector<std::string> dictionary;
      simdjson::dom::array values;
      if (c["dictionary"].get(values) == simdjson::SUCCESS) {
        for (auto v : values) {
          std::string_view s;
          if (v.get(s) == simdjson::SUCCESS) dictionary.emplace_back(s);
        }
      }
      file->dictionary_.push_back(std::move(dictionary));
    }
  }
  return file;
}

ColumnarFile::~ColumnarFile() {
  if (map_ != nullptr) ::munmap(map_, size_);
}

int64_t ColumnarFile::line(int64_t r) const {
  return lines_ != nullptr ? lines_[r] : first_line_ + r;
}

Table ColumnarFile::ToTable() const {
  Table table;
  table.rows = rows_;
  table.lines.reserve(static_cast<size_t>(rows_));
  for (int64_t r = 0; r < rows_; ++r) table.lines.push_back(line(r));
  for (size_t c = 0; c < names_.size(); ++c) {
    Column column{names_[c], numeric_[c] != nullptr, {}, {}};
    if (column.numeric) {
      column.values.assign(numeric_[c], numeric_[c] + rows_);
    } else {
      column.strings.reserve(static_cast<size_t>(rows_));
      for (int64_t r = 0; r < rows_; ++r) {
        const int32_t code = codes_[c][r];
        const bool known = code >= 0 && static_cast<size_t>(code) < dictionary_[c].size();
        column.strings.push_back(known ? dictionary_[c][static_cast<size_t>(code)] : "");
      }
    }
    table.columns.push_back(std::move(column));
  }
  return table;
}

}  // namespace inferd::train
