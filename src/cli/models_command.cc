#include "cli/models_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace inferd::cli {
namespace {

std::string Aliases(const registry::ModelVersion& v) {
  std::string out;
  for (const auto& a : v.aliases) out += (out.empty() ? "@" : ", @") + a;
  return out;
}

std::string RandomId() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device device;
  std::string id;
  for (int i = 0; i < 16; ++i) id.push_back(kHex[device() % 16]);
  return id;
}

}  // namespace

Status ListModels(registry::Registry& registry) {
  registry::Search search{.max_results = 1000};
  std::printf("%-32s %-8s %s\n", "NAME", "LATEST", "ALIASES");
  do {
    ASSIGN_OR_RETURN(auto page, registry.SearchModels(search));
    for (const auto& m : page.items) {
      std::string aliases;
      for (const auto& [alias, version] : m.aliases) {
        aliases += (aliases.empty() ? "" : ", ") + alias + "=" + std::to_string(version);
      }
      std::printf("%-32s %-8lld %s\n", m.name.c_str(), static_cast<long long>(m.last_version),
                  aliases.c_str());
    }
    search.page_token = page.next_page_token;
  } while (!search.page_token.empty());
  return Status::Ok();
}

Status ShowModel(registry::Registry& registry, const std::string& name) {
  ASSIGN_OR_RETURN(auto model, registry.GetModel(name));
  ASSIGN_OR_RETURN(auto versions, registry.ListVersions(name));
  std::printf("%s", model.name.c_str());
  if (!model.description.empty()) std::printf(": %s", model.description.c_str());
  std::printf("\n");
  for (const auto& [k, v] : model.tags) std::printf("  tag %s=%s\n", k.c_str(), v.c_str());
  for (const auto& v : versions) {
    std::printf("  version %lld %s %s\n    source %s\n", static_cast<long long>(v.version),
                v.status.c_str(), Aliases(v).c_str(), v.source.c_str());
    if (v.dataset) {
      std::printf("    dataset %s@%lld md5 %s\n", v.dataset->name.c_str(),
                  static_cast<long long>(v.dataset->version), v.dataset->md5.c_str());
    }
    for (const auto& [k, p] : v.params) std::printf("    param %s=%s\n", k.c_str(), p.c_str());
    for (const auto& [k, m] : v.metrics) std::printf("    metric %s=%.6g\n", k.c_str(), m);
  }
  return Status::Ok();
}

StatusOr<registry::ModelVersion> RegisterModelBytes(registry::Registry& registry,
                                                    store::Store& store,
                                                    const std::string& filename,
                                                    const std::string& bytes,
                                                    registry::NewVersion details,
                                                    const std::string& alias) {
  auto existing = registry.GetModel(details.name);
  if (existing.status().code() == StatusCode::kNotFound) {
    RETURN_IF_ERROR(registry.CreateModel(details.name, "", {}).status());
  } else {
    RETURN_IF_ERROR(existing.status());
  }
  // The source is a folder holding the model file, as MLflow's logged models are.
  const std::string folder = "models/" + details.name + "/" + RandomId();
  RETURN_IF_ERROR(store.PutBlob(registry::ArtifactBlobId(folder + "/" + filename), bytes));
  details.source = "mlflow-artifacts:/" + folder;
  ASSIGN_OR_RETURN(auto version, registry.CreateVersion(details));
  if (!alias.empty()) {
    RETURN_IF_ERROR(registry.SetAlias(details.name, alias, version.version));
    version.aliases.push_back(alias);
  }
  return version;
}

StatusOr<registry::ModelVersion> RegisterModel(registry::Registry& registry,
                                               store::Store& store,
                                               const RegisterOptions& options) {
  const std::string filename = std::filesystem::path(options.file).filename().string();
  if (!filename.ends_with(".json") && !filename.ends_with(".ubj")) {
    return InvalidArgument("--file must be an XGBoost model file ending in .json or .ubj");
  }
  std::ifstream in(options.file, std::ios::binary);
  if (!in) return NotFound("cannot read " + options.file);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  ASSIGN_OR_RETURN(auto version,
                   RegisterModelBytes(registry, store,
                                      filename.ends_with(".ubj") ? "model.ubj" : "model.json",
                                      bytes.str(),
                                      {.name = options.name, .description = options.description},
                                      options.alias));
  std::printf("registered %s version %lld%s\n", options.name.c_str(),
              static_cast<long long>(version.version),
              options.alias.empty() ? "" : (" as @" + options.alias).c_str());
  return version;
}

Status SetAlias(registry::Registry& registry, const std::string& name, const std::string& alias,
                int64_t version) {
  RETURN_IF_ERROR(registry.SetAlias(name, alias, version));
  std::printf("%s@%s -> version %lld\n", name.c_str(), alias.c_str(),
              static_cast<long long>(version));
  return Status::Ok();
}

Status DeleteModel(registry::Registry& registry, const std::string& name, int64_t version) {
  if (version > 0) {
    RETURN_IF_ERROR(registry.DeleteVersion(name, version));
    std::printf("deleted %s version %lld\n", name.c_str(), static_cast<long long>(version));
    return Status::Ok();
  }
  RETURN_IF_ERROR(registry.DeleteModel(name));
  std::printf("deleted %s\n", name.c_str());
  return Status::Ok();
}

}  // namespace inferd::cli
