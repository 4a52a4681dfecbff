#include "model/directory_source.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/names.h"

namespace inferd::model {
namespace fs = std::filesystem;
namespace {

// The file names that say their format, in the order a version folder is searched.
constexpr const char* kModelFileNames[] = {"model.json", "model.ubj", "model.txt", "model.onnx"};

StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path.string());
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

}  // namespace

StatusOr<std::vector<std::string>> DirectorySource::ListModels() {
  std::error_code ec;
  fs::directory_iterator it(root_, ec);
  if (ec) return NotFound("cannot read model repository " + root_ + ": " + ec.message());
  std::vector<std::string> names;
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory(ec) && IsValidName(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

StatusOr<ModelSpec> DirectorySource::ReadModel(const std::string& name) {
  const fs::path dir = fs::path(root_) / name;
  std::error_code ec;
  if (!IsValidName(name) || !fs::is_directory(dir, ec)) {
    return NotFound("model '" + name + "' has no folder in the repository " + root_);
  }
  ModelSpec spec;
  if (fs::exists(dir / "config.json", ec)) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(dir / "config.json"));
    ASSIGN_OR_RETURN(spec.config, ParseModelConfig(text));
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto version = ParseVersionNumberText(entry.path().filename().string());
    if (!version || !entry.is_directory(ec)) continue;
    if (spec.config.format) {
      // A declared format: the folder's one file, whatever its name.
      std::vector<fs::path> files;
      for (const auto& file : fs::directory_iterator(entry.path(), ec)) {
        if (file.is_regular_file(ec)) files.push_back(file.path());
      }
      if (files.size() != 1) {
        return InvalidArgument("model '" + name + "' version " + std::to_string(*version) +
                               ": config.json declares format \"" +
                               FormatName(*spec.config.format) + "\", so the version folder " +
                               "must hold exactly one file; it holds " +
                               std::to_string(files.size()));
      }
      spec.versions.push_back(
          {*version, files[0].filename().string(), *spec.config.format, files[0].string(), ""});
      continue;
    }
    for (const char* filename : kModelFileNames) {
      if (fs::exists(entry.path() / filename, ec)) {
        spec.versions.push_back({*version, filename, *FormatOfFile(filename, "{\""),
                                 (entry.path() / filename).string(), ""});
        break;
      }
    }
  }
  if (ec) return Unavailable("cannot list " + dir.string() + ": " + ec.message());
  if (spec.versions.empty()) {
    return InvalidArgument("model '" + name +
                           "' has no version folder (a positive integer) holding "
                           "model.json, model.ubj, model.txt or model.onnx");
  }
  return spec;
}

StatusOr<std::string> DirectorySource::Fingerprint(const std::string& name) {
  const fs::path dir = fs::path(root_) / name;
  std::error_code ec;
  if (!IsValidName(name) || !fs::is_directory(dir, ec)) {
    return NotFound("model '" + name + "' has no folder in the repository " + root_);
  }
  std::vector<std::string> parts;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    auto mtime = fs::last_write_time(it->path(), ec).time_since_epoch().count();
    parts.push_back(it->path().string() + ":" + std::to_string(it->file_size(ec)) + ":" +
                    std::to_string(mtime));
  }
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) out += p + "\n";
  return out;
}

}  // namespace inferd::model
