#include "model/repository.h"

#include <charconv>
#include <chrono>
#include <set>

#include <spdlog/spdlog.h>

#include "common/names.h"
#include "model/runtime.h"

namespace inferd::model {

Status Servable::Predict(const float* rows, int64_t num_rows, std::vector<float>* out,
                         int64_t* executions) const {
  if (executions) *executions = 0;
  out->clear();
  if (num_rows > max_batch_size) {
    return InvalidArgument("batch of " + std::to_string(num_rows) + " rows exceeds model '" +
                           name + "' limit of " + std::to_string(max_batch_size) +
                           " rows (max_batch_size / --max-batch-size)");
  }
  if (batcher) return batcher->Predict(rows, num_rows, out, executions);
  if (executions) *executions = 1;
  return model->Predict(rows, num_rows, config.output_kind, out);
}

Status Servable::Predict(const float* rows, int64_t num_rows, const PredictOptions& options,
                         std::vector<float>* out, int64_t* executions) const {
  if ((options.plain() && options.kind == config.output_kind) || num_rows > max_batch_size) {
    return Predict(rows, num_rows, out, executions);  // (refuses an oversized batch)
  }
  if (executions) *executions = 1;
  return model->PredictWith(rows, num_rows, options, out);
}

std::unique_ptr<ModelRepository> ModelRepository::Create(const Options& options) {
  return std::unique_ptr<ModelRepository>(new ModelRepository(options));
}

StatusOr<std::shared_ptr<const ModelRepository::Loaded>> ModelRepository::Build(
    const std::string& name, const ModelSpec& spec) const {
  auto loaded = std::make_shared<Loaded>();
  const ModelConfig& config = spec.config;
  for (const VersionFile& file : spec.versions) {
    auto model = LoadModel(file, config.runtime);
    if (!model.ok()) {
      return Status(model.status().code(), "model '" + name + "' version " +
                                               std::to_string(file.version) + ": " +
                                               model.status().message());
    }
    auto servable = std::make_shared<Servable>();
    servable->name = name;
    servable->version = file.version;
    servable->config = config;
    if (!model->fallback.empty()) {
      spdlog::warn("model '{}' version {} runs on libxgboost: {}", name, file.version,
                   model->fallback);
    }
    servable->model = std::move(model->model);
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
    if (config.batching.enabled) {
      servable->batcher = std::make_shared<DynamicBatcher>(
          servable->model, config.output_kind,
          BatchingOptions{
              .max_queue_delay = std::chrono::microseconds(config.batching.max_queue_delay_us),
              .preferred_batch_rows =
                  std::min(config.batching.preferred_batch_rows, servable->max_batch_size),
              .max_batch_rows = servable->max_batch_size});
    }
    loaded->versions[file.version] = std::move(servable);
  }
  if (loaded->versions.empty()) return InvalidArgument("model '" + name + "' has no version");
  loaded->default_version = spec.default_version.value_or(loaded->versions.rbegin()->first);
  if (!loaded->versions.contains(loaded->default_version)) {
    return Internal("model '" + name + "': default version " +
                    std::to_string(loaded->default_version) + " is not among its versions");
  }
  return std::shared_ptr<const Loaded>(std::move(loaded));
}

Status ModelRepository::LoadAll() {
  std::lock_guard load(load_mu_);
  ASSIGN_OR_RETURN(auto names, options_.source->ListModels());
  {
    std::unique_lock lock(mu_);
    offered_ = std::set<std::string>(names.begin(), names.end());
  }
  for (const auto& name : names) RETURN_IF_ERROR(LoadLocked(name));
  return Status::Ok();
}

Status ModelRepository::Load(std::string_view name) {
  if (!IsValidName(name)) {
    return InvalidArgument("invalid model name '" + std::string(name) + "'");
  }
  std::lock_guard load(load_mu_);
  return LoadLocked(std::string(name));
}

Status ModelRepository::LoadLocked(const std::string& name) {
  const auto start = std::chrono::steady_clock::now();
  auto fingerprint = options_.source->Fingerprint(name);
  auto record_failure = [&](const Status& st) {
    std::unique_lock lock(mu_);
    failures_[name] = st.message();
    if (fingerprint.ok()) failed_fingerprints_[name] = *fingerprint;
    return st;
  };
  if (!fingerprint.ok()) return record_failure(fingerprint.status());
  auto spec = options_.source->ReadModel(name);
  if (!spec.ok()) return record_failure(spec.status());
  auto built = Build(name, *spec);
  if (!built.ok()) return record_failure(built.status());
  auto loaded = std::const_pointer_cast<Loaded>(std::move(built).value());
  loaded->fingerprint = std::move(fingerprint).value();
  if (options_.on_built) {
    for (const auto& [version, servable] : loaded->versions) options_.on_built(*servable);
  }
  loaded->load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::unique_lock lock(mu_);
  failures_.erase(name);
  failed_fingerprints_.erase(name);
  models_[name] = std::move(loaded);
  return Status::Ok();
}

Status ModelRepository::Unload(std::string_view name) {
  std::lock_guard load(load_mu_);
  std::unique_lock lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return NotFound("model '" + std::string(name) + "' is not loaded");
  models_.erase(it);
  return Status::Ok();
}

Status ModelRepository::Refresh() {
  std::lock_guard load(load_mu_);
  ASSIGN_OR_RETURN(auto names, options_.source->ListModels());
  Status first;
  for (const auto& name : names) {
    auto fingerprint = options_.source->Fingerprint(name);
    if (!fingerprint.ok()) {
      if (first.ok()) first = fingerprint.status();
      continue;
    }
    {
      std::shared_lock lock(mu_);
      auto it = models_.find(name);
      if (it != models_.end() && it->second->fingerprint == *fingerprint) continue;
      auto failed = failed_fingerprints_.find(name);
      if (failed != failed_fingerprints_.end() && failed->second == *fingerprint) {
        continue;  // already failed on exactly this content; wait for a change
      }
    }
    Status st = LoadLocked(name);
    if (!st.ok()) {
      if (first.ok()) first = st;
    }
  }
  std::set<std::string> offered(names.begin(), names.end());
  std::unique_lock lock(mu_);
  std::erase_if(models_, [&](const auto& entry) { return !offered.contains(entry.first); });
  offered_ = std::move(offered);
  return first;
}

StatusOr<std::shared_ptr<const Servable>> ModelRepository::Get(std::string_view name,
                                                                std::string_view version) const {
  std::optional<int64_t> wanted;
  if (!version.empty()) {
    wanted = ParseVersionNumberText(version);
    if (!wanted) {
      return InvalidArgument("version '" + std::string(version) +
                             "' is not a positive integer");
    }
  }
  std::shared_lock lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return NotFound("unknown model '" + std::string(name) + "'");
  const Loaded& loaded = *it->second;
  auto v = loaded.versions.find(wanted.value_or(loaded.default_version));
  if (v == loaded.versions.end()) {
    return NotFound("model '" + std::string(name) + "' has no version " + std::string(version) +
                    " loaded");
  }
  return v->second;
}

StatusOr<std::vector<int64_t>> ModelRepository::Versions(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return NotFound("unknown model '" + std::string(name) + "'");
  std::vector<int64_t> out;
  for (const auto& [v, servable] : it->second->versions) out.push_back(v);
  return out;
}

std::vector<IndexEntry> ModelRepository::Index() const {
  std::set<std::string> offered;
  if (auto names = options_.source->ListModels(); names.ok()) {
    offered.insert(names->begin(), names->end());
  }
  return IndexOf(std::move(offered));
}

std::vector<IndexEntry> ModelRepository::LastIndex() const {
  std::set<std::string> offered;
  {
    std::shared_lock lock(mu_);
    offered = offered_;
  }
  return IndexOf(std::move(offered));
}

std::vector<IndexEntry> ModelRepository::IndexOf(std::set<std::string> offered) const {
  std::shared_lock lock(mu_);
  std::vector<IndexEntry> out;
  for (const auto& [name, loaded] : models_) {
    offered.erase(name);
    for (const auto& [v, servable] : loaded->versions) {
      out.push_back({name, std::to_string(v), "READY", "", loaded->load_seconds});
    }
  }
  for (const auto& name : offered) {
    auto failure = failures_.find(name);
    out.push_back({name, "", "UNAVAILABLE",
                   failure == failures_.end() ? "unloaded" : failure->second});
  }
  return out;
}

std::vector<std::string> ModelRepository::LoadedNames() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, loaded] : models_) out.push_back(name);
  return out;
}

}  // namespace inferd::model
