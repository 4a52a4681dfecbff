// `inferd predictions ...`: the prediction log from the command line.
//   export   the records of a model (and version, time range) as NDJSON or CSV,
//            to a file or stdout, with progress on stderr
//   migrate  rewrites records of the legacy JSON layout in the compact one
// Output goes to stdout or the file; failures come back as a Status.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "registry/registry.h"
#include "store/store.h"

namespace inferd::cli {

struct PredictionExportOptions {
  std::string model;         // "" = every model (NDJSON only)
  int64_t version = 0;       // 0 = every version
  std::string since, until;  // as common/time_text.h reads them ("" = no bound)
  std::string format = "ndjson";  // or "csv"
  std::string output;             // "" or "-" = stdout
};
Status ExportPredictions(store::Store& store, registry::Registry& registry,
                         const PredictionExportOptions& options);

Status MigratePredictions(store::Store& store);

}  // namespace inferd::cli
