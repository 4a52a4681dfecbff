// The prediction log's spool file (monitor/prediction_log.h) as a restarted
// inferd reads it: after kSpoolHeader, length-framed, checksummed records until the bytes
// end or a frame is torn or damaged; without the header, the JSON lines
// "<id>\t<document>" of an older inferd. Every record read must be one the
// store accepts (else one damaged record would fail its whole replay batch
// again and again), and a frame must be exactly the bytes its record frames to.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "monitor/prediction_log.h"
#include "store/predictions.h"

namespace {

using inferd::monitor::PredictionRecord;

void ReadFrames(std::string_view in) {
  PredictionRecord record;
  std::string_view rest = in;
  while (inferd::monitor::ReadSpoolRecord(&rest, &record)) {
    if (!inferd::store::CheckPredictionRecord(record).ok()) __builtin_trap();
    std::string framed;
    inferd::monitor::AppendSpoolRecord(record, &framed);
    if (in.substr(0, in.size() - rest.size()) != framed) __builtin_trap();
    in = rest;
  }
}

void ReadJsonLines(std::string_view in) {
  while (!in.empty()) {
    const size_t end = std::min(in.find('\n'), in.size());
    const std::string_view line = in.substr(0, end);
    in.remove_prefix(std::min(end + 1, in.size()));
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) continue;
    auto record = inferd::store::PredictionFromLegacyJson(std::string(line.substr(0, tab)),
                                                          line.substr(tab + 1));
    if (record.ok() && !inferd::store::CheckPredictionRecord(*record).ok()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.starts_with(inferd::monitor::kSpoolHeader)) {
    ReadFrames(input.substr(inferd::monitor::kSpoolHeader.size()));
  } else {
    ReadJsonLines(input);
  }
  return 0;
}
