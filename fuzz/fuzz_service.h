// The whole HTTP API as the fuzz targets drive it: the demo models of
// tests/data/models served by a real Service (no store, no prediction log),
// built once per process.
#pragma once

#include <memory>
#include <string>

#include "api/service.h"
#include "model/directory_source.h"

namespace inferd::fuzz {

class FuzzService {
 public:
  static FuzzService& Get() {
    static FuzzService* service = new FuzzService();
    return *service;
  }
  http::Response Handle(http::Request& request) { return service_->Handle(request); }
  const serving::InferenceService& inference() const { return *inference_; }

 private:
  FuzzService() {
    models_ = model::ModelRepository::Create({.source = &source_, .default_max_batch_size = 64});
    if (!models_->LoadAll().ok()) __builtin_trap();
    health_.SetLoaded();
    inference_ = std::make_unique<serving::InferenceService>(
        serving::InferenceService::Options{.models = models_.get()});
    service_ = std::make_unique<api::Service>(api::ServiceContext{.models = models_.get(),
                                                                  .health = &health_,
                                                                  .server_version = "fuzz",
                                                                  .inference = inference_.get()});
  }

  model::DirectorySource source_{std::string(INFERD_TEST_DATA) + "/models"};
  std::unique_ptr<model::ModelRepository> models_;
  serving::Health health_;
  std::unique_ptr<serving::InferenceService> inference_;
  std::unique_ptr<api::Service> service_;
};

}  // namespace inferd::fuzz
