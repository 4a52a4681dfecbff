#include "cli/healthcheck_command.h"

#include "http/client.h"

namespace inferd::cli {

Status Healthcheck(const HealthcheckOptions& options) {
  ASSIGN_OR_RETURN(auto reply, http::Get(options.host, options.port, options.path,
                                         std::chrono::milliseconds(options.timeout_ms)));
  if (reply.status < 200 || reply.status > 299) {
    return Unavailable(options.path + " answered " + std::to_string(reply.status) + " " +
                       reply.body);
  }
  return Status::Ok();
}

}  // namespace inferd::cli
