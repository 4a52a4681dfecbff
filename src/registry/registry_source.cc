#include "registry/registry_source.h"

#include <set>

#include "common/names.h"

namespace inferd::registry {
namespace {

constexpr int64_t kPageSize = 1000;

}  // namespace

StatusOr<std::vector<std::string>> RegistrySource::ListModels() {
  std::vector<std::string> names;
  Search search{.max_results = kPageSize};
  do {
    ASSIGN_OR_RETURN(auto page, registry_->SearchModels(search));
    for (const auto& m : page.items) {
      if (IsValidName(m.name) && m.last_version > 0) names.push_back(m.name);
    }
    search.page_token = page.next_page_token;
  } while (!search.page_token.empty());
  return names;
}

StatusOr<RegistrySource::Plan> RegistrySource::PlanModel(const std::string& name) {
  ASSIGN_OR_RETURN(RegisteredModel model, registry_->GetModel(name));
  ASSIGN_OR_RETURN(auto versions, registry_->ListVersions(name));
  std::erase_if(versions, [](const ModelVersion& v) { return v.status != "READY"; });
  if (versions.empty()) {
    return InvalidArgument("registered model '" + name + "' has no READY version");
  }
  std::set<int64_t> wanted = {versions.back().version};
  for (const auto& [alias, version] : model.aliases) wanted.insert(version);
  Plan plan;
  plan.default_version = versions.back().version;
  if (auto it = model.aliases.find(default_alias_); it != model.aliases.end()) {
    plan.default_version = it->second;
  }
  for (auto& v : versions) {
    if (wanted.contains(v.version)) plan.versions.push_back(std::move(v));
  }
  return plan;
}

StatusOr<model::ModelSpec> RegistrySource::ReadModel(const std::string& name) {
  ASSIGN_OR_RETURN(Plan plan, PlanModel(name));
  model::ModelSpec spec;
  spec.default_version = plan.default_version;
  for (const ModelVersion& v : plan.versions) {
    auto file = registry_->ReadModelFile(v);
    if (!file.ok()) {
      // A version that cannot be read is skipped, unless it is the default.
      if (v.version == plan.default_version) {
        return Status(file.status().code(), "model '" + name + "' version " +
                                                std::to_string(v.version) + ": " +
                                                file.status().message());
      }
      continue;
    }
    spec.versions.push_back({v.version, file->filename, file->format, "", std::move(file->bytes)});
  }
  return spec;
}

StatusOr<std::string> RegistrySource::Fingerprint(const std::string& name) {
  ASSIGN_OR_RETURN(Plan plan, PlanModel(name));
  std::string out = "default=" + std::to_string(plan.default_version);
  for (const ModelVersion& v : plan.versions) {
    out += ";" + std::to_string(v.version) + "=" + v.source;
  }
  return out;
}

}  // namespace inferd::registry
