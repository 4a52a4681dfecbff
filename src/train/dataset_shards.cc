// Datasets of many files, added in shards and merged (see dataset.h).
#include <glob.h>
#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "common/json_fields.h"
#include "common/json_writer.h"
#include "common/names.h"
#include "train/column_summary.h"
#include "train/columnar.h"
#include "train/dataset.h"
#include "train/dataset_internal.h"

namespace inferd::train {
namespace fs = std::filesystem;
using internal::ReadFiles;
using internal::WriteFiles;
namespace {

std::string Md5Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

bool IsGlob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::string ShardKey(const std::string& name, const std::string& run) { return name + "#" + run; }

std::string ShardId(const std::string& name, const std::string& run, int index, int count) {
  return ShardKey(name, run) + "#" + std::to_string(index) + "-of-" + std::to_string(count);
}

std::string ShardBlob(const std::string& name, const std::string& run, int index, int count) {
  return "dataset-shards/" + name + "/" + run + "/" + std::to_string(index) + "-of-" +
         std::to_string(count);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One shard as recorded: its files (with md5 and rows), the data's columns,
// and its column summaries.
struct ShardRecord {
  int index = 0;
  int count = 0;
  std::string root;
  bool single_file = false;
  int64_t listed_files = 0;  // files in the whole listing
  std::vector<DatasetFile> files;
  std::vector<std::string> columns;
  std::vector<ColumnSummary> summaries;  // empty when the shard had no data files
};

std::string ShardDocument(const std::string& name, const std::string& run, const ShardRecord& shard,
                          int64_t created) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject().Key("shard_of").String(ShardKey(name, run)).Key("dataset").String(name);
  json.Key("run").String(run).Key("index").Int(shard.index).Key("count").Int(shard.count);
  json.Key("root").String(shard.root).Key("single_file").Bool(shard.single_file);
  json.Key("listed_files").Int(shard.listed_files).Key("created").Int(created);
  json.Key("files");
  WriteFiles(json, shard.files);
  json.Key("columns").BeginArray();
  for (const auto& c : shard.columns) json.String(c);
  json.EndArray().EndObject();
  return out;
}

StatusOr<ShardRecord> ParseShardDocument(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text).get(doc) != simdjson::SUCCESS)
    return Internal("shard document is not JSON");
  ShardRecord shard;
  shard.index = static_cast<int>(JsonInt(doc, "index"));
  shard.count = static_cast<int>(JsonInt(doc, "count"));
  shard.root = JsonString(doc, "root");
  bool single = false;
  if (doc["single_file"].get(single) == simdjson::SUCCESS) shard.single_file = single;
  shard.listed_files = JsonInt(doc, "listed_files");
  shard.files = ReadFiles(doc);
  simdjson::dom::array columns;
  if (doc["columns"].get(columns) == simdjson::SUCCESS) {
    for (auto c : columns) {
      std::string_view s;
      if (c.get(s) == simdjson::SUCCESS) shard.columns.emplace_back(s);
    }
  }
  return shard;
}

std::string SummariesToText(const std::vector<ColumnSummary>& summaries) {
  std::string out;
  for (const auto& s : summaries) out += s.ToJson() + "\n";
  return out;
}

StatusOr<std::vector<ColumnSummary>> SummariesFromText(const std::string& text) {
  std::vector<ColumnSummary> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ASSIGN_OR_RETURN(ColumnSummary s,
                     ColumnSummary::FromJson(std::string_view(text).substr(start, end - start)));
    out.push_back(std::move(s));
    start = end + 1;
  }
  return out;
}

// Adds a file's (or shard's) summaries into `into`; `where` names the part
// being added for messages.
Status MergeSummaries(std::vector<ColumnSummary>* into, const std::vector<ColumnSummary>& part,
                      const std::string& where) {
  if (into->empty()) {
    *into = part;
    return Status::Ok();
  }
  for (size_t c = 0; c < part.size(); ++c) {
    Status st = (*into)[c].Merge(part[c]);
    if (!st.ok()) {
      return InvalidArgument(st.message() + ": " + where + " has " +
                             (part[c].numeric() ? "numbers" : "text") + " where other files have " +
                             ((*into)[c].numeric() ? "numbers" : "text") +
                             " (give the column one type in every file)");
    }
  }
  return Status::Ok();
}

Status CheckDvc(const std::string& dvc_file, const std::string& what, const std::string& md5,
                int64_t size) {
  if (dvc_file.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(DvcPointer pointer, ReadDvcFile(dvc_file));
  if (pointer.md5 != md5 || (pointer.size >= 0 && pointer.size != size)) {
    return FailedPrecondition(what + " does not match " + dvc_file + ": md5 " + md5 + " (" +
                              std::to_string(size) + " bytes), the pointer says " + pointer.md5 +
                              " (" + std::to_string(pointer.size) + " bytes)");
  }
  return Status::Ok();
}

}  // namespace

std::vector<DatasetFile> DatasetVersion::DataFiles() const {
  std::vector<DatasetFile> out;
  for (const auto& f : files) {
    if (f.data) out.push_back(f);
  }
  return out;
}

std::string DatasetVersion::FilePath(const DatasetFile& f) const {
  if (files.size() == 1 && fs::path(path).filename() == f.relpath) return path;  // one file
  return (fs::path(path) / f.relpath).string();
}

StatusOr<Table> ReadDataset(const DatasetVersion& d, const std::string& columnar_dir) {
  if (d.files.empty()) {  // recorded before files were
    ASSIGN_OR_RETURN(auto hash, DvcHash(d.path));
    if (hash.first != d.md5) {
      return FailedPrecondition("dataset " + d.name + "@" + std::to_string(d.version) +
                                " was recorded from " + d.path + " with md5 " + d.md5 +
                                ", but that data now has md5 " + hash.first);
    }
    return ReadCsvPath(d.path);
  }
  const std::string dir = columnar_dir.empty() ? d.columnar_dir : columnar_dir;
  Table all;
  for (const DatasetFile& f : d.DataFiles()) {
    Table table;
    bool copied = false;
    if (!dir.empty()) {
      auto copy = ColumnarFile::Open(ColumnarPath(dir, f.md5));
      if (copy.ok() && (*copy)->source_md5() == f.md5 && (*copy)->rows() == f.rows) {
        table = (*copy)->ToTable();
        copied = true;
      }
    }
    if (!copied) {
      const std::string path = d.FilePath(f);
      ASSIGN_OR_RETURN(auto hash, DvcHash(path));
      if (hash.first != f.md5) {
        return FailedPrecondition("dataset " + d.name + "@" + std::to_string(d.version) +
                                  " was recorded from " + path + " with md5 " + f.md5 +
                                  ", but that file now has md5 " + hash.first);
      }
      ASSIGN_OR_RETURN(table, ReadCsv(path));
    }
    if (all.columns.empty()) {
      all = std::move(table);
      continue;
    }
    if (table.columns.size() != all.columns.size()) {
      return FailedPrecondition(f.relpath + " has other columns than the files before it");
    }
    for (size_t c = 0; c < all.columns.size(); ++c) {
      Column& into = all.columns[c];
      Column& from = table.columns[c];
      // A column with no values in some files parses as numeric there.
      auto to_text = [](Column& column) {
        column.strings.assign(column.values.size(), "");
        column.values.clear();
        column.numeric = false;
      };
      if (into.numeric && !from.numeric) to_text(into);
      if (!into.numeric && from.numeric) to_text(from);
      into.values.insert(into.values.end(), from.values.begin(), from.values.end());
      into.strings.insert(into.strings.end(), from.strings.begin(), from.strings.end());
    }
    all.lines.insert(all.lines.end(), table.lines.begin(), table.lines.end());
    all.rows += table.rows;
  }
  return all;
}

StatusOr<DatasetListing> ListDatasetFiles(const std::vector<std::string>& inputs) {
  if (inputs.empty()) return InvalidArgument("no data given: name a CSV file, a folder or a glob");
  DatasetListing listing;
  std::error_code ec;
  auto add_file = [&](const fs::path& path, bool data) {
    listing.files.push_back(DatasetFile{.relpath = path.string(),
                                        .size = static_cast<int64_t>(fs::file_size(path, ec)),
                                        .data = data});
  };
  auto add_folder = [&](const fs::path& folder) -> Status {
    for (auto it = fs::recursive_directory_iterator(folder, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file()) add_file(it->path(), it->path().extension() == ".csv");
    }
    if (ec) return Unavailable("cannot list " + folder.string() + ": " + ec.message());
    return Status::Ok();
  };
  if (inputs.size() == 1 && !IsGlob(inputs[0])) {
    const fs::path path = fs::absolute(inputs[0]).lexically_normal();
    if (fs::is_directory(path, ec)) {
      RETURN_IF_ERROR(add_folder(path));
      listing.root = path.string();
    } else if (fs::is_regular_file(path, ec)) {
      listing.single_file = true;
      listing.root = path.string();
      listing.files.push_back(DatasetFile{.relpath = path.filename().string(),
                                          .size = static_cast<int64_t>(fs::file_size(path, ec)),
                                          .data = true});
      return listing;
    } else {
      return NotFound("cannot open " + inputs[0]);
    }
  } else {
    for (const auto& input : inputs) {
      std::vector<fs::path> matches;
      if (IsGlob(input)) {
        glob_t found{};
        if (::glob(input.c_str(), 0, nullptr, &found) == 0) {
          for (size_t i = 0; i < found.gl_pathc; ++i) matches.emplace_back(found.gl_pathv[i]);
        }
        ::globfree(&found);
        if (matches.empty()) return NotFound("no file matches " + input);
      } else {
        matches.emplace_back(input);
      }
      for (const auto& m : matches) {
        const fs::path path = fs::absolute(m).lexically_normal();
        if (fs::is_directory(path, ec)) {
          RETURN_IF_ERROR(add_folder(path));
        } else if (fs::is_regular_file(path, ec)) {
          add_file(path, true);
        } else {
          return NotFound("cannot open " + m.string());
        }
      }
    }
    // The longest common folder of every file.
    std::vector<std::string> root;
    for (size_t i = 0; i < listing.files.size(); ++i) {
      std::vector<std::string> parts;
      for (const auto& part : fs::path(listing.files[i].relpath).parent_path()) {
        parts.push_back(part.string());
      }
      if (i == 0) {
        root = parts;
      } else {
        size_t common = 0;
        while (common < root.size() && common < parts.size() && root[common] == parts[common]) {
          ++common;
        }
        root.resize(common);
      }
    }
    fs::path common;
    for (const auto& part : root) common /= part;
    listing.root = common.string();
  }
  for (auto& f : listing.files) {
    f.relpath = fs::path(f.relpath).lexically_relative(listing.root).generic_string();
  }
  std::sort(listing.files.begin(), listing.files.end(),
            [](const auto& a, const auto& b) { return a.relpath < b.relpath; });
  for (size_t i = 1; i < listing.files.size(); ++i) {
    if (listing.files[i].relpath == listing.files[i - 1].relpath) {
      return InvalidArgument(listing.files[i].relpath + " is named twice");
    }
  }
  if (listing.files.empty()) return InvalidArgument(inputs[0] + " holds no file");
  if (std::none_of(listing.files.begin(), listing.files.end(),
                   [](const auto& f) { return f.data; })) {
    return InvalidArgument("folder " + listing.root + " holds no .csv file");
  }
  return listing;
}

std::string DirMd5(const std::vector<DatasetFile>& files) {
  std::vector<std::pair<std::string, std::string>> entries;  // relpath, md5
  for (const auto& f : files) entries.emplace_back(f.relpath, f.md5);
  std::sort(entries.begin(), entries.end());
  // Python's json.dumps(..., sort_keys=True) with its default separators, as DVC.
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
  return Md5Hex(listing) + ".dir";
}

std::vector<int> SplitContiguous(const std::vector<int64_t>& weights, int parts) {
  long double total = 0;
  for (int64_t w : weights) total += static_cast<long double>(std::max<int64_t>(w, 1));
  std::vector<int> out;
  long double before = 0;
  for (int64_t w : weights) {
    const long double weight = static_cast<long double>(std::max<int64_t>(w, 1));
    const long double middle = before + weight / 2;
    out.push_back(std::min(parts - 1, static_cast<int>(middle * parts / total)));
    before += weight;
  }
  return out;
}

StatusOr<ShardOutcome> Datasets::AddShard(const ShardSpec& spec, const DatasetProgress& progress) {
  if (!IsValidName(spec.name)) return InvalidArgument("invalid dataset name '" + spec.name + "'");
  if (spec.count < 1 || spec.index < 0 || spec.index >= spec.count) {
    return InvalidArgument("shard " + std::to_string(spec.index) + "/" +
                           std::to_string(spec.count) + ": the index must be in [0, count)");
  }
  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  ASSIGN_OR_RETURN(DatasetListing listing, ListDatasetFiles(spec.inputs));
  if (!spec.columnar_dir.empty() && !listing.single_file) {
    // Copies written among the data would change the data's hash on the next add.
    const std::string dir = fs::absolute(spec.columnar_dir).lexically_normal().string();
    if ((dir + "/").starts_with(listing.root + "/")) {
      return InvalidArgument("--columnar-dir " + spec.columnar_dir + " is inside the data (" +
                             listing.root + "): put the copies elsewhere");
    }
  }
  std::string run = spec.run;
  if (run.empty()) {
    std::string key;
    std::error_code ec;
    for (const auto& f : listing.files) {
      const fs::path path =
          listing.single_file ? fs::path(listing.root) : fs::path(listing.root) / f.relpath;
      const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
      key += f.relpath + "\t" + std::to_string(f.size) + "\t" + std::to_string(mtime) + "\n";
    }
    run = Md5Hex(key).substr(0, 16);
  } else if (!IsValidName(run)) {
    return InvalidArgument("invalid run id '" + run + "' (letters, digits, '.', '_', '-')");
  }
  auto path_of = [&](const DatasetFile& f) {
    return listing.single_file ? listing.root : (fs::path(listing.root) / f.relpath).string();
  };
  std::vector<int64_t> sizes;
  for (const auto& f : listing.files) sizes.push_back(f.size);
  const std::vector<int> part = SplitContiguous(sizes, spec.count);
  const std::string label =
      "shard " + std::to_string(spec.index) + "/" + std::to_string(spec.count);

  ShardRecord shard{.index = spec.index,
                    .count = spec.count,
                    .root = listing.root,
                    .single_file = listing.single_file,
                    .listed_files = static_cast<int64_t>(listing.files.size())};
  for (size_t i = 0; i < listing.files.size(); ++i) {
    if (part[i] == spec.index) shard.files.push_back(listing.files[i]);
  }
  // The header every data file must have: the first data file's.
  for (const auto& f : listing.files) {
    if (!f.data) continue;
    ASSIGN_OR_RETURN(shard.columns, ReadCsvHeader(path_of(f)));
    break;
  }
  const auto started = std::chrono::steady_clock::now();
  int64_t bytes = 0;
  for (auto& f : shard.files) {
    ASSIGN_OR_RETURN(auto hash, DvcHash(path_of(f)));
    f.md5 = hash.first;
    bytes += f.size;
  }
  if (spec.count == 1) {  // the whole dataset: nothing to do when it is recorded already
    const std::string md5 = listing.single_file ? shard.files[0].md5 : DirMd5(shard.files);
    int64_t size = 0;
    for (const auto& f : shard.files) size += f.size;
    RETURN_IF_ERROR(CheckDvc(spec.dvc_file, listing.root, md5, size));
    auto latest = Get(spec.name);
    if (!latest.ok() && latest.status().code() != StatusCode::kNotFound) return latest.status();
    if (latest.ok() && latest->md5 == md5 &&
        (spec.columnar_dir.empty() || latest->columnar_dir == spec.columnar_dir)) {
      return ShardOutcome{.merged = *latest};
    }
  }
  say(label + ": " + std::to_string(shard.files.size()) + " of " +
      std::to_string(listing.files.size()) + " files, " + std::to_string(bytes) + " bytes, run " +
      run);
  ShardOutcome outcome;
  int done = 0;
  for (auto& f : shard.files) {
    ++done;
    if (!f.data) continue;
    const auto file_started = std::chrono::steady_clock::now();
    const std::string path = path_of(f);
    ASSIGN_OR_RETURN(Table table, ReadCsv(path));
    std::vector<std::string> names;
    for (const auto& c : table.columns) names.push_back(c.name);
    if (names != shard.columns) {
      std::string expected, got;
      for (const auto& n : shard.columns) expected += (expected.empty() ? "" : ",") + n;
      for (const auto& n : names) got += (got.empty() ? "" : ",") + n;
      return InvalidArgument(path + " line 1: the columns are " + got + "; the dataset's are " +
                             expected);
    }
    std::vector<ColumnSummary> summaries;
    for (const auto& c : table.columns) {
      ColumnSummary s(c.name, c.numeric);
      if (c.numeric) {
        s.AddNumbers(c.values.data(), c.values.size());
      } else {
        s.AddStrings(c.strings);
      }
      summaries.push_back(std::move(s));
    }
    RETURN_IF_ERROR(MergeSummaries(&shard.summaries, summaries, f.relpath));
    f.rows = table.rows;
    outcome.rows += table.rows;
    std::string copy;
    if (!spec.columnar_dir.empty()) {
      const std::string columnar = ColumnarPath(spec.columnar_dir, f.md5);
      auto existing = ColumnarFile::Open(columnar);
      if (existing.ok() && (*existing)->source_md5() == f.md5 &&
          (*existing)->rows() == table.rows) {
        copy = ", columnar copy already there";
      } else {
        RETURN_IF_ERROR(WriteColumnar(table, f.md5, columnar));
        copy = ", columnar copy written";
      }
    }
    char line[512];
    std::snprintf(line, sizeof(line), "%s: file %d/%zu %s: %lld rows%s (%.1f s)", label.c_str(),
                  done, shard.files.size(), f.relpath.c_str(), static_cast<long long>(table.rows),
                  copy.c_str(), SecondsSince(file_started));
    say(line);
  }
  outcome.files = static_cast<int64_t>(shard.files.size());

  if (spec.count == 1) {
    DatasetVersion d{.name = spec.name, .size = 0, .rows = outcome.rows, .path = listing.root};
    d.files = shard.files;
    for (const auto& f : d.files) d.size += f.size;
    d.md5 = listing.single_file ? d.files[0].md5 : DirMd5(d.files);
    for (const auto& s : shard.summaries) d.columns.push_back(s.Profile());
    d.columnar_dir = spec.columnar_dir.empty()
                         ? ""
                         : fs::absolute(spec.columnar_dir).lexically_normal().string();
    d.shards = 1;
    ASSIGN_OR_RETURN(outcome.merged, Record(std::move(d)));
    return outcome;
  }

  // Record the shard, then merge if every shard of the run is there.
  RETURN_IF_ERROR(store_->PutBlob(ShardBlob(spec.name, run, spec.index, spec.count),
                                  SummariesToText(shard.summaries)));
  std::string document = ShardDocument(spec.name, run, shard, clock_->NowMillis());
  if (!spec.columnar_dir.empty()) {  // where this shard's copies are
    document.pop_back();
    document += ",\"columnar_dir\":";
    AppendJsonString(&document, fs::absolute(spec.columnar_dir).lexically_normal().string());
    document += "}";
  }
  RETURN_IF_ERROR(
      store_->Put(store::kDatasets, {ShardId(spec.name, run, spec.index, spec.count), document}));
  say(label + ": recorded " + std::to_string(outcome.files) + " files, " +
      std::to_string(outcome.rows) + " rows in " +
      std::to_string(static_cast<int>(SecondsSince(started))) + " s");
  auto merged = MergeShards(spec.name, run, spec.count, spec.dvc_file);
  if (merged.ok()) {
    outcome.merged = std::move(*merged);
  } else if (merged.status().code() == StatusCode::kFailedPrecondition &&
             merged.status().message().find("not recorded yet") != std::string::npos) {
    say(label + ": " + merged.status().message() + "; the last shard merges");
  } else {
    return merged.status();
  }
  return outcome;
}

StatusOr<DatasetVersion> Datasets::MergeShards(const std::string& name, const std::string& run,
                                               int count, const std::string& dvc_file) {
  if (!IsValidName(name)) return InvalidArgument("invalid dataset name '" + name + "'");
  ASSIGN_OR_RETURN(auto docs, store_->List(store::kDatasets, {"shard_of", ShardKey(name, run)}));
  std::map<int, ShardRecord> shards;
  std::string columnar_dir;
  for (const auto& doc : docs) {
    ASSIGN_OR_RETURN(ShardRecord shard, ParseShardDocument(doc.json));
    if (shard.count != count) continue;
    simdjson::dom::parser parser;
    simdjson::dom::element parsed;
    if (parser.parse(doc.json).get(parsed) == simdjson::SUCCESS) {
      const std::string dir = JsonString(parsed, "columnar_dir");
      if (!dir.empty()) columnar_dir = dir;
    }
    shards[shard.index] = std::move(shard);
  }
  std::string missing;
  for (int i = 0; i < count; ++i) {
    if (!shards.contains(i)) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
  }
  if (!missing.empty()) {
    return FailedPrecondition("dataset " + name + " run " + run + ": shard(s) " + missing + " of " +
                              std::to_string(count) + " not recorded yet");
  }
  const ShardRecord& first = shards.begin()->second;
  DatasetVersion d{.name = name, .path = first.root};
  std::vector<ColumnSummary> summaries;
  std::vector<std::string> columns;
  for (auto& [index, shard] : shards) {
    if (shard.root != first.root || shard.listed_files != first.listed_files) {
      return InvalidArgument("shards 0 and " + std::to_string(index) + " of " + name + " run " +
                             run + " listed different files (" + first.root + ", " + shard.root +
                             "): give every shard the same data");
    }
    d.files.insert(d.files.end(), shard.files.begin(), shard.files.end());
    const bool has_data =
        std::any_of(shard.files.begin(), shard.files.end(), [](const auto& f) { return f.data; });
    if (!has_data) continue;
    if (columns.empty()) {
      columns = shard.columns;
    } else if (shard.columns != columns) {
      return InvalidArgument("shard " + std::to_string(index) + " of " + name +
                             " has other columns than the shards before it");
    }
    ASSIGN_OR_RETURN(std::string text, store_->GetBlob(ShardBlob(name, run, index, count)));
    ASSIGN_OR_RETURN(auto part, SummariesFromText(text));
    RETURN_IF_ERROR(MergeSummaries(&summaries, part, "shard " + std::to_string(index)));
  }
  std::sort(d.files.begin(), d.files.end(),
            [](const auto& a, const auto& b) { return a.relpath < b.relpath; });
  if (static_cast<int64_t>(d.files.size()) != first.listed_files) {
    return InvalidArgument("the shards of " + name + " run " + run + " hold " +
                           std::to_string(d.files.size()) + " files, the listing " +
                           std::to_string(first.listed_files));
  }
  for (const auto& f : d.files) {
    d.size += f.size;
    d.rows += f.rows;
  }
  d.md5 = first.single_file ? d.files[0].md5 : DirMd5(d.files);
  RETURN_IF_ERROR(CheckDvc(dvc_file, d.path, d.md5, d.size));
  for (const auto& s : summaries) d.columns.push_back(s.Profile());
  d.columnar_dir = columnar_dir;
  d.shards = count;
  return Record(std::move(d));
}

}  // namespace inferd::train
