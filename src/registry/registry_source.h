// RegistrySource: serves the model registry. Each registered model with at
// least one usable version is offered; per model the server loads the version
// every alias points at plus the latest version, so V2 versions are registry
// versions. The default (unversioned URL) is the version under
// `default_alias` ("production"), else the latest.
//
// Thread-safe (state lives in the registry's store).
#pragma once

#include <string>

#include "model/source.h"
#include "registry/registry.h"

namespace inferd::registry {

class RegistrySource final : public model::ModelSource {
 public:
  explicit RegistrySource(Registry* registry, std::string default_alias = "production")
      : registry_(registry), default_alias_(std::move(default_alias)) {}

  StatusOr<std::vector<std::string>> ListModels() override;
  StatusOr<model::ModelSpec> ReadModel(const std::string& name) override;
  // The served versions, their sources and the default: what ReadModel reads.
  StatusOr<std::string> Fingerprint(const std::string& name) override;

 private:
  struct Plan {
    std::vector<ModelVersion> versions;  // to load, ascending
    int64_t default_version = 0;
  };
  StatusOr<Plan> PlanModel(const std::string& name);

  Registry* registry_;
  std::string default_alias_;
};

}  // namespace inferd::registry
