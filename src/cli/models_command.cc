#include "cli/models_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "model/model_format.h"

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

StatusOr<registry::ModelVersion> RegisterModelFiles(registry::Registry& registry,
                                                    store::Store& store,
                                                    const std::vector<ArtifactFile>& files,
                                                    registry::NewVersion details,
                                                    const std::string& alias) {
  // The source is a folder holding the files, as MLflow's logged models are.
  const std::string folder = "models/" + details.name + "/" + RandomId();
  for (const auto& [path, bytes] : files) {
    RETURN_IF_ERROR(store.PutBlob(registry::ArtifactBlobId(folder + "/" + path), bytes));
  }
  details.source = "mlflow-artifacts:/" + folder;
  // Refused before a version exists when the server could not serve it.
  if (Status st = registry.ReadModelFile({.source = details.source}).status(); !st.ok()) {
    for (const auto& file : files) {
      (void)store.DeleteBlob(registry::ArtifactBlobId(folder + "/" + file.first));
    }
    return st;
  }
  return RegisterSource(registry, nullptr, details, alias);
}

StatusOr<registry::ModelVersion> RegisterSource(registry::Registry& registry,
                                                registry::Tracking* tracking,
                                                const registry::NewVersion& details,
                                                const std::string& alias) {
  auto existing = registry.GetModel(details.name);
  if (existing.status().code() == StatusCode::kNotFound) {
    auto created = registry.CreateModel(details.name, "", {});
    // Another writer may have created it meanwhile.
    if (created.status().code() != StatusCode::kAlreadyExists) RETURN_IF_ERROR(created.status());
  } else {
    RETURN_IF_ERROR(existing.status());
  }
  ASSIGN_OR_RETURN(auto version, tracking ? registry::RegisterVersion(registry, *tracking, details)
                                          : registry.CreateVersion(details));
  if (!alias.empty()) {
    RETURN_IF_ERROR(registry.SetAlias(details.name, alias, version.version));
    version.aliases.push_back(alias);
  }
  return version;
}

StatusOr<registry::ModelVersion> RegisterModel(registry::Registry& registry,
                                               store::Store& store,
                                               const RegisterOptions& options) {
  namespace fs = std::filesystem;
  auto read = [](const fs::path& path) -> StatusOr<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFound("cannot read " + path.string());
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  };
  std::vector<ArtifactFile> files;
  std::error_code ec;
  if (fs::is_directory(options.file, ec)) {
    // An MLflow model folder (or a folder holding a model file): every file in it.
    for (auto it = fs::recursive_directory_iterator(options.file, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      ASSIGN_OR_RETURN(std::string bytes, read(it->path()));
      files.push_back({fs::relative(it->path(), options.file).generic_string(), std::move(bytes)});
    }
    if (ec) return InvalidArgument("cannot list " + options.file + ": " + ec.message());
  } else {
    ASSIGN_OR_RETURN(std::string bytes, read(options.file));
    const std::string filename = fs::path(options.file).filename().string();
    auto format = model::FormatOfFile(filename, std::string_view(bytes).substr(0, 2));
    if (!format) {
      return InvalidArgument(
          "--file must be a model file (XGBoost .json, .ubj or .xgb; LightGBM "
          ".txt or .lgb) or an MLflow model folder");
    }
    // Stored under the name that says its format.
    const std::string stored = *format == model::ModelFormat::kXgboostJson  ? "model.json"
                               : *format == model::ModelFormat::kXgboostUbj ? "model.ubj"
                               : *format == model::ModelFormat::kLightgbm   ? "model.txt"
                               : *format == model::ModelFormat::kOnnx       ? "model.onnx"
                                                                            : filename;
    files.push_back({stored, std::move(bytes)});
  }
  ASSIGN_OR_RETURN(auto version,
                   RegisterModelFiles(registry, store, files,
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
