// Helpers shared by dataset.cc and dataset_shards.cc; not for other modules.
#pragma once

#include <simdjson.h>

#include <string>
#include <vector>

#include "common/json_writer.h"
#include "train/dataset.h"

namespace inferd::train::internal {

// The files as a JSON array value, and back from a document's "files" field.
void WriteFiles(JsonWriter& json, const std::vector<DatasetFile>& files);
std::vector<DatasetFile> ReadFiles(simdjson::dom::element doc);

// "<name>@<version as 10 digits>".
std::string VersionId(const std::string& name, int64_t version);

}  // namespace inferd::train::internal
