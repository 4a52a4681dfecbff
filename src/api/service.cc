#include "api/service.h"

namespace inferd::api {

Service::Service(const ServiceContext& context) {
  AddV2Routes(context, &router_);
  AddV1Routes(context, &router_);
  AddDocsRoutes(&router_);
}

}  // namespace inferd::api
