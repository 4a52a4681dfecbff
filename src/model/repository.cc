#include "model/repository.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "common/names.h"
#include "model/xgboost_model.h"

namespace inferd::model {
namespace fs = std::filesystem;
namespace {

StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path.string());
  std::ostringstream data;
  data << in.rdbuf();
  return data.str();
}

// Parses a positive decimal version; nullopt otherwise.
std::optional<int64_t> ParseVersion(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

}  // namespace

Status Servable::Predict(const float* rows, int64_t num_rows, std::vector<float>* out) const {
  out->clear();
  if (num_rows > max_batch_size) {
    return InvalidArgument("batch of " + std::to_string(num_rows) + " rows exceeds model '" +
                           name + "' limit of " + std::to_string(max_batch_size) +
                           " rows (max_batch_size / --max-batch-size)");
  }
  return model->Predict(rows, num_rows, config.output_kind, out);
}

std::unique_ptr<ModelRepository> ModelRepository::Create(const Options& options) {
  return std::unique_ptr<ModelRepository>(new ModelRepository(options));
}

StatusOr<std::shared_ptr<const ModelRepository::VersionMap>> ModelRepository::ReadModel(
    const std::string& name) const {
  const fs::path dir = fs::path(options_.root) / name;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return NotFound("model '" + name + "' has no folder in the repository " + options_.root);
  }
  ModelConfig config;
  if (fs::exists(dir / "config.json", ec)) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(dir / "config.json"));
    ASSIGN_OR_RETURN(config, ParseModelConfig(text));
  }
  auto versions = std::make_shared<VersionMap>();
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_directory()) continue;
    auto version = ParseVersion(entry.path().filename().string());
    if (!version) continue;
    fs::path file = entry.path() / "model.json";
    if (!fs::exists(file)) file = entry.path() / "model.ubj";
    if (!fs::exists(file)) continue;
    auto loaded = XgboostModel::Load(file.string());
    if (!loaded.ok()) {
      return Status(loaded.status().code(), "model '" + name + "' version " +
                                                std::to_string(*version) + ": " +
                                                loaded.status().message());
    }
    auto servable = std::make_shared<Servable>();
    servable->name = name;
    servable->version = *version;
    servable->config = config;
    servable->model = std::move(loaded).value();
    const ModelInfo& info = servable->model->info();
    servable->feature_names = config.feature_names.empty() ? info.feature_names
                                                           : config.feature_names;
    if (!servable->feature_names.empty() &&
        static_cast<int64_t>(servable->feature_names.size()) != info.num_features) {
      return InvalidArgument("model '" + name + "': " +
                             std::to_string(servable->feature_names.size()) +
                             " feature names for a model of " +
                             std::to_string(info.num_features) + " features");
    }
    for (size_t i = 0; i < servable->feature_names.size(); ++i) {
      servable->feature_index.emplace(servable->feature_names[i], static_cast<int64_t>(i));
    }
    servable->max_batch_size =
        config.max_batch_size > 0 ? config.max_batch_size : options_.default_max_batch_size;
    (*versions)[*version] = std::move(servable);
  }
  if (ec) return Unavailable("cannot list " + dir.string() + ": " + ec.message());
  if (versions->empty()) {
    return InvalidArgument("model '" + name +
                           "' has no version folder (a positive integer) holding "
                           "model.json or model.ubj");
  }
  return std::shared_ptr<const VersionMap>(std::move(versions));
}

Status ModelRepository::LoadAll() {
  std::error_code ec;
  fs::directory_iterator it(options_.root, ec);
  if (ec) return NotFound("cannot read model repository " + options_.root + ": " + ec.message());
  std::set<std::string> names;
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && IsValidName(name)) names.insert(name);
  }
  for (const auto& name : names) RETURN_IF_ERROR(Load(name));
  return Status::Ok();
}

Status ModelRepository::Load(std::string_view name) {
  if (!IsValidName(name)) {
    return InvalidArgument("invalid model name '" + std::string(name) + "'");
  }
  auto versions = ReadModel(std::string(name));
  std::unique_lock lock(mu_);
  if (!versions.ok()) {
    failures_[std::string(name)] = versions.status().message();
    return versions.status();
  }
  failures_.erase(std::string(name));
  models_[std::string(name)] = std::move(versions).value();
  return Status::Ok();
}

Status ModelRepository::Unload(std::string_view name) {
  std::unique_lock lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return NotFound("model '" + std::string(name) + "' is not loaded");
  models_.erase(it);
  return Status::Ok();
}

StatusOr<std::shared_ptr<const Servable>> ModelRepository::Get(std::string_view name,
                                                                std::string_view version) const {
  std::optional<int64_t> wanted;
  if (!version.empty()) {
    wanted = ParseVersion(version);
    if (!wanted) {
      return InvalidArgument("version '" + std::string(version) +
                             "' is not a positive integer");
    }
  }
  std::shared_lock lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return NotFound("unknown model '" + std::string(name) + "'");
  const VersionMap& versions = *it->second;
  if (!wanted) return versions.rbegin()->second;
  auto v = versions.find(*wanted);
  if (v == versions.end()) {
    return NotFound("model '" + std::string(name) + "' has no version " + std::string(version));
  }
  return v->second;
}

StatusOr<std::vector<int64_t>> ModelRepository::Versions(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return NotFound("unknown model '" + std::string(name) + "'");
  std::vector<int64_t> out;
  for (const auto& [v, servable] : *it->second) out.push_back(v);
  return out;
}

std::vector<IndexEntry> ModelRepository::Index() const {
  std::set<std::string> on_disk;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.root, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && IsValidName(name)) on_disk.insert(name);
  }
  std::shared_lock lock(mu_);
  std::vector<IndexEntry> out;
  for (const auto& [name, versions] : models_) {
    on_disk.erase(name);
    for (const auto& [v, servable] : *versions) {
      out.push_back({name, std::to_string(v), "READY", ""});
    }
  }
  for (const auto& name : on_disk) {
    auto failure = failures_.find(name);
    out.push_back({name, "", "UNAVAILABLE",
                   failure == failures_.end() ? "unloaded" : failure->second});
  }
  return out;
}

std::vector<std::string> ModelRepository::LoadedNames() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, versions] : models_) out.push_back(name);
  return out;
}

}  // namespace inferd::model
