#include "train/dataset.h"

#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/json_fields.h"
#include "common/json_writer.h"
#include "common/names.h"
#include "train/column_summary.h"
#include "train/dataset_internal.h"

namespace inferd::train {
namespace fs = std::filesystem;
namespace {

constexpr size_t kReadChunk = 1 << 20;

std::string Hex(const unsigned char* digest, unsigned length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

// md5 of a byte stream fed in pieces.
class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
  ~Md5() { EVP_MD_CTX_free(ctx_); }
  void Update(const char* data, size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  std::string Hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned length = 0;
    EVP_DigestFinal_ex(ctx_, digest, &length);
    return train::Hex(digest, length);
  }

 private:
  EVP_MD_CTX* ctx_;
};

StatusOr<std::pair<std::string, int64_t>> FileMd5(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path.string());
  Md5 md5;
  std::vector<char> buffer(kReadChunk);
  int64_t size = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    md5.Update(buffer.data(), static_cast<size_t>(in.gcount()));
    size += in.gcount();
  }
  return std::pair{md5.Hex(), size};
}

ColumnProfile ProfileColumn(const Column& column) {
  ColumnSummary summary(column.name, column.numeric);
  if (column.numeric) {
    summary.AddNumbers(column.values.data(), column.values.size());
  } else {
    summary.AddStrings(column.strings);
  }
  return summary.Profile();
}

ColumnProfile ReadColumnProfile(simdjson::dom::element c) {
  ColumnProfile p;
  p.name = JsonString(c, "name");
  p.type = JsonString(c, "type");
  p.count = JsonInt(c, "count");
  p.missing_share = JsonNumber(c, "missing_share");
  p.min = JsonNumber(c, "min");
  p.max = JsonNumber(c, "max");
  p.mean = JsonNumber(c, "mean");
  p.std = JsonNumber(c, "std");
  p.percentiles = JsonNumbers(c, "percentiles");
  p.histogram_edges = JsonNumbers(c, "histogram_edges");
  for (double v : JsonNumbers(c, "histogram_counts")) p.histogram_counts.push_back(static_cast<int64_t>(v));
  simdjson::dom::array categories;
  if (c["categories"].get(categories) == simdjson::SUCCESS) {
    for (auto k : categories) {
      p.categories.emplace_back(JsonString(k, "value"), JsonInt(k, "count"));
    }
  }
  return p;
}

}  // namespace

namespace internal {

std::string VersionId(const std::string& name, int64_t version) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%010lld", static_cast<long long>(version));
  return name + "@" + digits;
}

void WriteFiles(JsonWriter& json, const std::vector<DatasetFile>& files) {
  json.BeginArray();
  for (const auto& f : files) {
    json.BeginObject().Key("relpath").String(f.relpath).Key("md5").String(f.md5);
    json.Key("size").Int(f.size).Key("data").Bool(f.data).Key("rows").Int(f.rows).EndObject();
  }
  json.EndArray();
}

std::vector<DatasetFile> ReadFiles(simdjson::dom::element doc) {
  std::vector<DatasetFile> files;
  simdjson::dom::array array;
  if (doc["files"].get(array) != simdjson::SUCCESS) return files;
  for (auto f : array) {
    DatasetFile file{.relpath = JsonString(f, "relpath"),
                     .md5 = JsonString(f, "md5"),
                     .size = JsonInt(f, "size"),
                     .rows = JsonInt(f, "rows")};
    bool data = false;
    if (f["data"].get(data) == simdjson::SUCCESS) file.data = data;
    files.push_back(std::move(file));
  }
  return files;
}

}  // namespace internal

using internal::VersionId;

std::string ColumnProfileToJson(const ColumnProfile& c) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject().Key("name").String(c.name).Key("type").String(c.type);
  json.Key("count").Int(c.count).Key("missing_share").Double(c.missing_share);
  if (c.type == "numeric") {
    json.Key("min").Double(c.min).Key("max").Double(c.max);
    json.Key("mean").Double(c.mean).Key("std").Double(c.std);
    json.Key("percentiles").BeginArray();
    for (double v : c.percentiles) json.Double(v);
    json.EndArray().Key("histogram_edges").BeginArray();
    for (double v : c.histogram_edges) json.Double(v);
    json.EndArray().Key("histogram_counts").BeginArray();
    for (int64_t v : c.histogram_counts) json.Int(v);
    json.EndArray();
  } else {
    json.Key("categories").BeginArray();
    for (const auto& [value, n] : c.categories) {
      json.BeginObject().Key("value").String(value).Key("count").Int(n).EndObject();
    }
    json.EndArray();
  }
  json.EndObject();
  return out;
}

StatusOr<ColumnProfile> ColumnProfileFromJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string padded(json);
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) {
    return InvalidArgument("column profile is not JSON");
  }
  return ReadColumnProfile(doc);
}

ColumnProfile ProfileValues(const std::string& name, const std::vector<double>& values) {
  ColumnSummary summary(name, true);
  summary.AddNumbers(values.data(), values.size());
  return summary.Profile();
}

ColumnProfile ProfileCategories(const std::string& name, const std::vector<std::string>& values) {
  ColumnSummary summary(name, false);
  summary.AddStrings(values);
  return summary.Profile();
}

StatusOr<std::pair<std::string, int64_t>> DvcHash(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return FileMd5(path);
  std::vector<DatasetFile> files;
  int64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    ASSIGN_OR_RETURN(auto file, FileMd5(it->path()));
    files.push_back({.relpath = fs::relative(it->path(), path).generic_string(),
                     .md5 = file.first,
                     .size = file.second});
    total += file.second;
  }
  if (ec) return Unavailable("cannot list " + path + ": " + ec.message());
  return std::pair{DirMd5(files), total};
}

StatusOr<DvcPointer> ReadDvcFile(const std::string& dvc_file) {
  std::ifstream in(dvc_file);
  if (!in) return NotFound("cannot open " + dvc_file);
  DvcPointer pointer;
  std::string line;
  bool in_outs = false, first_out_done = false;
  while (std::getline(in, line)) {
    std::string trimmed = line.substr(std::min(line.find_first_not_of(" \t-"), line.size()));
    if (line.rfind("outs:", 0) == 0) {
      in_outs = true;
      continue;
    }
    if (!in_outs || first_out_done) continue;
    if (!line.empty() && line[0] != ' ' && line[0] != '-') break;  // next top-level key
    if (line.find_first_not_of(' ') != std::string::npos &&
        line[line.find_first_not_of(' ')] == '-' && !pointer.md5.empty() &&
        !pointer.path.empty()) {
      first_out_done = true;  // a second output starts
      continue;
    }
    auto value = [&](const char* key) -> std::optional<std::string> {
      std::string prefix = std::string(key) + ":";
      if (trimmed.rfind(prefix, 0) != 0) return std::nullopt;
      std::string v = trimmed.substr(prefix.size());
      v.erase(0, v.find_first_not_of(" \t"));
      while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.pop_back();
      if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"')) v = v.substr(1, v.size() - 2);
      return v;
    };
    if (auto v = value("md5")) pointer.md5 = *v;
    if (auto v = value("size")) pointer.size = std::atoll(v->c_str());
    if (auto v = value("path")) pointer.path = *v;
  }
  if (pointer.md5.empty() || pointer.path.empty()) {
    return InvalidArgument(dvc_file + " has no output with md5 and path (is it a .dvc file?)");
  }
  pointer.path = (fs::path(dvc_file).parent_path() / pointer.path).lexically_normal().string();
  return pointer;
}

std::vector<ColumnProfile> ProfileTable(const Table& table) {
  std::vector<ColumnProfile> out;
  for (const Column& c : table.columns) {
    out.push_back(ProfileColumn(c));
  }
  return out;
}

std::string DatasetToJson(const DatasetVersion& d) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject();
  json.Key("name").String(d.name).Key("version").Int(d.version).Key("md5").String(d.md5);
  json.Key("size").Int(d.size).Key("rows").Int(d.rows).Key("path").String(d.path);
  json.Key("created").Int(d.created);
  json.Key("columns").BeginArray();
  for (const auto& c : d.columns) json.Raw(ColumnProfileToJson(c));
  json.EndArray();
  json.Key("files");
  internal::WriteFiles(json, d.files);
  json.Key("columnar_dir").String(d.columnar_dir).Key("shards").Int(d.shards);
  json.EndObject();
  return out;
}

StatusOr<DatasetVersion> DatasetFromJson(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text).get(doc) != simdjson::SUCCESS) {
    return Internal("dataset document is not JSON");
  }
  DatasetVersion d;
  d.name = JsonString(doc, "name");
  d.version = JsonInt(doc, "version");
  d.md5 = JsonString(doc, "md5");
  d.size = JsonInt(doc, "size");
  d.rows = JsonInt(doc, "rows");
  d.path = JsonString(doc, "path");
  d.created = JsonInt(doc, "created");
  simdjson::dom::array columns;
  if (doc["columns"].get(columns) == simdjson::SUCCESS) {
    for (auto c : columns) {
      ColumnProfile p = ReadColumnProfile(c);
      d.columns.push_back(std::move(p));
    }
  }
  d.files = internal::ReadFiles(doc);
  d.columnar_dir = JsonString(doc, "columnar_dir");
  d.shards = JsonInt(doc, "shards");
  return d;
}

StatusOr<std::pair<std::string, int64_t>> ParseDatasetRef(const std::string& ref) {
  size_t at = ref.find('@');
  std::string name = ref.substr(0, at);
  if (!IsValidName(name)) return InvalidArgument("invalid dataset name '" + name + "'");
  if (at == std::string::npos) return std::pair{name, int64_t{0}};
  char* end = nullptr;
  long long version = std::strtoll(ref.c_str() + at + 1, &end, 10);
  if (*end != '\0' || version < 1) {
    return InvalidArgument("dataset version in '" + ref + "' is not a positive integer");
  }
  return std::pair{name, static_cast<int64_t>(version)};
}

StatusOr<DatasetVersion> Datasets::Add(const std::string& name, const std::string& path,
                                       const std::string& dvc_file) {
  ASSIGN_OR_RETURN(ShardOutcome outcome,
                   AddShard({.name = name, .inputs = {path}, .dvc_file = dvc_file}, nullptr));
  return *std::move(outcome.merged);
}

StatusOr<DatasetVersion> Datasets::Record(DatasetVersion d) {
  auto latest = Get(d.name);
  if (!latest.ok() && latest.status().code() != StatusCode::kNotFound) return latest.status();
  d.created = clock_->NowMillis();
  if (latest.ok() && latest->md5 == d.md5) {
    if (d.columnar_dir.empty() || latest->columnar_dir == d.columnar_dir) return latest;
    // The same data, now with columnar copies: the version records where.
    d.version = latest->version;
    d.created = latest->created;
    RETURN_IF_ERROR(
        store_->Put(store::kDatasets, {VersionId(d.name, d.version), DatasetToJson(d)}));
    return d;
  }
  d.version = latest.ok() ? latest->version + 1 : 1;
  for (;; ++d.version) {
    Status st = store_->Insert(store::kDatasets, {VersionId(d.name, d.version), DatasetToJson(d)});
    if (st.ok()) return d;
    if (st.code() != StatusCode::kAlreadyExists) return st;
    // Another process recorded this version meanwhile (two shards merging at
    // once): the same data is that version.
    auto other = Get(d.name, d.version);
    if (other.ok() && other->md5 == d.md5) return other;
  }
}

StatusOr<DatasetVersion> Datasets::Get(const std::string& name, int64_t version) {
  if (version > 0) {
    auto doc = store_->Get(store::kDatasets, VersionId(name, version));
    if (doc.status().code() == StatusCode::kNotFound) {
      return NotFound("dataset '" + name + "' has no version " + std::to_string(version));
    }
    if (!doc.ok()) return doc.status();
    return DatasetFromJson(*doc);
  }
  ASSIGN_OR_RETURN(auto all, List(name));
  if (all.empty()) return NotFound("dataset '" + name + "' not found");
  return all.back();
}

StatusOr<std::vector<DatasetVersion>> Datasets::List(const std::string& name) {
  ASSIGN_OR_RETURN(auto docs, store_->List(store::kDatasets, {"name", name}));
  std::vector<DatasetVersion> out;
  for (const auto& doc : docs) {
    ASSIGN_OR_RETURN(DatasetVersion d, DatasetFromJson(doc.json));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace inferd::train
