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

namespace inferd::train {
namespace fs = std::filesystem;
namespace {

constexpr int kHistogramBins = 10;
constexpr size_t kMaxCategories = 100;
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

std::string VersionId(const std::string& name, int64_t version) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%010lld", static_cast<long long>(version));
  return name + "@" + digits;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  double rank = p * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(rank));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (rank - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

ColumnProfile ProfileNumeric(const Column& column, int64_t rows) {
  ColumnProfile p{.name = column.name, .type = "numeric"};
  std::vector<double> values;
  for (double v : column.values) {
    if (!std::isnan(v)) values.push_back(v);
  }
  std::sort(values.begin(), values.end());
  p.count = static_cast<int64_t>(values.size());
  p.missing_share = rows ? 1.0 - static_cast<double>(p.count) / static_cast<double>(rows) : 0;
  if (values.empty()) return p;
  p.min = values.front();
  p.max = values.back();
  double sum = 0, sq = 0;
  for (double v : values) sum += v;
  p.mean = sum / static_cast<double>(values.size());
  for (double v : values) sq += (v - p.mean) * (v - p.mean);
  p.std = std::sqrt(sq / static_cast<double>(values.size()));
  for (int i = 0; i <= 100; ++i) p.percentiles.push_back(Percentile(values, i / 100.0));
  for (int i = 1; i < kHistogramBins; ++i) {
    double edge = Percentile(values, static_cast<double>(i) / kHistogramBins);
    if (p.histogram_edges.empty() || edge > p.histogram_edges.back()) {
      p.histogram_edges.push_back(edge);
    }
  }
  // Bin i holds values in (edge[i-1], edge[i]]; the last bin everything above.
  p.histogram_counts.assign(p.histogram_edges.size() + 1, 0);
  for (double v : values) {
    size_t bin = std::lower_bound(p.histogram_edges.begin(), p.histogram_edges.end(), v) -
                 p.histogram_edges.begin();
    ++p.histogram_counts[bin];
  }
  return p;
}

ColumnProfile ProfileCategorical(const Column& column, int64_t rows) {
  ColumnProfile p{.name = column.name, .type = "categorical"};
  std::map<std::string, int64_t> counts;
  for (const auto& s : column.strings) {
    if (!s.empty()) ++counts[s];
  }
  for (const auto& [value, n] : counts) p.count += n;
  p.missing_share = rows ? 1.0 - static_cast<double>(p.count) / static_cast<double>(rows) : 0;
  p.categories.assign(counts.begin(), counts.end());
  std::stable_sort(p.categories.begin(), p.categories.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (p.categories.size() > kMaxCategories) p.categories.resize(kMaxCategories);
  return p;
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
  Column column{name, true, values, {}};
  return ProfileNumeric(column, static_cast<int64_t>(values.size()));
}

ColumnProfile ProfileCategories(const std::string& name, const std::vector<std::string>& values) {
  Column column{name, false, {}, values};
  return ProfileCategorical(column, static_cast<int64_t>(values.size()));
}

StatusOr<std::pair<std::string, int64_t>> DvcHash(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return FileMd5(path);
  std::vector<std::pair<std::string, std::string>> entries;  // relpath, md5
  int64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    ASSIGN_OR_RETURN(auto file, FileMd5(it->path()));
    entries.emplace_back(fs::relative(it->path(), path).generic_string(), file.first);
    total += file.second;
  }
  if (ec) return Unavailable("cannot list " + path + ": " + ec.message());
  std::sort(entries.begin(), entries.end());
  // Python's json.dumps(..., sort_keys=True) with its default separators.
  std::string listing = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i) listing += ", ";
    listing += "{\"md5\": ";
    AppendJsonString(&listing, entries[i].second);
    listing += ", \"relpath\": ";
    AppendJsonString(&listing, entries[i].first);
    listing += "}";
  }
  listing += "]";
  Md5 md5;
  md5.Update(listing.data(), listing.size());
  return std::pair{md5.Hex() + ".dir", total};
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
    out.push_back(c.numeric ? ProfileNumeric(c, table.rows) : ProfileCategorical(c, table.rows));
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
  json.EndArray().EndObject();
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
  if (!IsValidName(name)) return InvalidArgument("invalid dataset name '" + name + "'");
  ASSIGN_OR_RETURN(auto hash, DvcHash(path));
  if (!dvc_file.empty()) {
    ASSIGN_OR_RETURN(DvcPointer pointer, ReadDvcFile(dvc_file));
    if (pointer.md5 != hash.first || (pointer.size >= 0 && pointer.size != hash.second)) {
      return FailedPrecondition(path + " does not match " + dvc_file + ": md5 " + hash.first +
                                " (" + std::to_string(hash.second) + " bytes), the pointer says " +
                                pointer.md5 + " (" + std::to_string(pointer.size) + " bytes)");
    }
  }
  auto latest = Get(name);
  if (latest.ok() && latest->md5 == hash.first) return latest;
  if (!latest.ok() && latest.status().code() != StatusCode::kNotFound) return latest.status();
  ASSIGN_OR_RETURN(Table table, ReadCsvPath(path));
  DatasetVersion d;
  d.name = name;
  d.md5 = hash.first;
  d.size = hash.second;
  d.rows = table.rows;
  d.path = fs::absolute(path).lexically_normal().string();
  d.created = clock_->NowMillis();
  d.columns = ProfileTable(table);
  d.version = latest.ok() ? latest->version + 1 : 1;
  for (;; ++d.version) {
    Status st = store_->Insert(store::kDatasets, {VersionId(name, d.version), DatasetToJson(d)});
    if (st.ok()) return d;
    if (st.code() != StatusCode::kAlreadyExists) return st;
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
