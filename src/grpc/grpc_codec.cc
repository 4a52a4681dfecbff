#include "grpc/grpc_codec.h"

#include <bit>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <string>

namespace inferd::grpcapi {
namespace {

// Numbers in a string parameter: "1.5, -2" or as a JSON array "[1.5, -2]"
// (InferParameter holds no lists). False when one is not a number.
template <typename T>
bool ParseNumberList(std::string_view text, std::vector<T>* out) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '[')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == ']')) s.remove_suffix(1);
    return s;
  };
  text = trim(text);
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = trim(text.substr(0, comma));
    T value;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (ec != std::errc() || end != item.data() + item.size()) return false;
    out->push_back(value);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return true;
}

// The request parameters serving::InferRequest knows: output_kind
// ("probability" or "margin"), base_margin and iteration_range (string
// parameters holding numbers, see ParseNumberList).
Status DecodeParameters(const inference::ModelInferRequest& proto, serving::InferRequest* request) {
  for (const auto& [key, param] : proto.parameters()) {
    if (key == "output_kind") {
      const std::string& kind = param.string_param();
      if (kind != "probability" && kind != "margin") {
        return InvalidArgument("parameter output_kind must be \"probability\" or \"margin\"");
      }
      request->output_kind =
          kind == "margin" ? model::OutputKind::kMargin : model::OutputKind::kProbability;
    } else if (key == "base_margin") {
      if (!ParseNumberList(param.string_param(), &request->base_margin)) {
        return InvalidArgument("parameter base_margin must be a string of numbers, \"[0.5, 1]\"");
      }
    } else if (key == "iteration_range") {
      std::vector<int64_t> bounds;
      if (!ParseNumberList(param.string_param(), &bounds) || bounds.size() != 2) {
        return InvalidArgument("parameter iteration_range must be a string \"[begin, end]\"");
      }
      request->iteration_begin = bounds[0];
      request->iteration_end = bounds[1];
    }
  }
  return Status::Ok();
}

using serving::ElementCount;
using serving::ElementSize;
using serving::ShapeToString;

static_assert(std::endian::native == std::endian::little,
              "raw tensor contents are little-endian and copied as they lie");

template <typename T>
void Convert(const T* values, size_t count, std::vector<float>* out) {
  out->resize(count);
  for (size_t i = 0; i < count; ++i) (*out)[i] = static_cast<float>(values[i]);
}

template <typename T>
void ConvertBytes(const std::string& bytes, std::vector<float>* out) {
  const size_t count = bytes.size() / sizeof(T);
  out->resize(count);
  for (size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
    (*out)[i] = static_cast<float>(v);
  }
}

void UseFloats(const float* data, size_t count, serving::InferInput* input) {
  if (reinterpret_cast<uintptr_t>(data) % alignof(float) == 0) {
    input->view = data;  // zero copy
    input->view_count = count;
  } else {
    input->data.resize(count);
    std::memcpy(input->data.data(), data, count * sizeof(float));
  }
}

Status DecodeRaw(const std::string& bytes, serving::InferInput* input) {
  const size_t size = ElementSize(input->datatype);
  auto elements = ElementCount(input->shape);
  if (!elements || *elements > std::numeric_limits<uint64_t>::max() / size ||
      *elements * size != bytes.size()) {
    return InvalidArgument("input '" + input->name + "': shape " + ShapeToString(input->shape) +
                           " of " + input->datatype + " needs " +
                           (elements ? std::to_string(*elements * size) : "too many") +
                           " bytes, raw_input_contents holds " + std::to_string(bytes.size()));
  }
  if (input->datatype == "FP32") {
    UseFloats(reinterpret_cast<const float*>(bytes.data()), bytes.size() / sizeof(float), input);
  } else if (input->datatype == "FP64") {
    ConvertBytes<double>(bytes, &input->data);
  } else if (input->datatype == "INT32") {
    ConvertBytes<int32_t>(bytes, &input->data);
  } else {
    ConvertBytes<int64_t>(bytes, &input->data);
  }
  return Status::Ok();
}

void DecodeContents(const inference::InferTensorContents& contents, serving::InferInput* input) {
  if (input->datatype == "FP32") {
    UseFloats(contents.fp32_contents().data(), contents.fp32_contents_size(), input);
  } else if (input->datatype == "FP64") {
    Convert(contents.fp64_contents().data(), contents.fp64_contents_size(), &input->data);
  } else if (input->datatype == "INT32") {
    Convert(contents.int_contents().data(), contents.int_contents_size(), &input->data);
  } else {
    Convert(contents.int64_contents().data(), contents.int64_contents_size(), &input->data);
  }
}

}  // namespace

StatusOr<serving::InferRequest> DecodeInferRequest(const inference::ModelInferRequest& proto) {
  serving::InferRequest request;
  request.model_name = proto.model_name();
  request.model_version = proto.model_version();
  request.id = proto.id();
  if (proto.inputs_size() == 0) return InvalidArgument("request has no \"inputs\"");
  const bool raw = proto.raw_input_contents_size() > 0;
  if (raw && proto.raw_input_contents_size() != proto.inputs_size()) {
    return InvalidArgument("raw_input_contents holds " +
                           std::to_string(proto.raw_input_contents_size()) +
                           " tensors for " + std::to_string(proto.inputs_size()) +
                           " inputs; give one per input, in order");
  }
  request.inputs.resize(proto.inputs_size());
  for (int i = 0; i < proto.inputs_size(); ++i) {
    const auto& tensor = proto.inputs(i);
    serving::InferInput& input = request.inputs[i];
    input.name = tensor.name();
    input.datatype = tensor.datatype();
    if (input.name.empty()) return InvalidArgument("every input needs a \"name\"");
    const std::string where = "input '" + input.name + "'";
    if (ElementSize(input.datatype) == 0) {
      return InvalidArgument(where + ": datatype '" + input.datatype +
                             "' is not supported; use FP32, FP64, INT32 or INT64");
    }
    if (tensor.shape_size() == 0) return InvalidArgument(where + ": \"shape\" is required");
    for (int64_t d : tensor.shape()) {
      if (d < 0) return InvalidArgument(where + ": shape must hold non-negative integers");
      input.shape.push_back(d);
    }
    if (raw) {
      if (tensor.has_contents()) {
        return InvalidArgument(where + ": has both contents and raw_input_contents");
      }
      RETURN_IF_ERROR(DecodeRaw(proto.raw_input_contents(i), &input));
      continue;
    }
    DecodeContents(tensor.contents(), &input);
    auto elements = ElementCount(input.shape);
    if (!elements || *elements != input.count()) {
      return InvalidArgument(where + ": shape " + ShapeToString(input.shape) + " needs " +
                             (elements ? std::to_string(*elements) : "too many") +
                             " values, data has " + std::to_string(input.count()));
    }
  }
  for (const auto& output : proto.outputs()) {
    if (output.name().empty()) return InvalidArgument("every requested output needs a \"name\"");
    request.outputs.push_back({output.name(), /*binary=*/true});
  }
  request.binary_data_output = true;
  RETURN_IF_ERROR(DecodeParameters(proto, &request));
  return request;
}

void EncodeInferResponse(const serving::InferResponse& response,
                         inference::ModelInferResponse* proto) {
  proto->set_model_name(response.model_name);
  proto->set_model_version(std::to_string(response.model_version));
  if (!response.id.empty()) proto->set_id(response.id);
  if (!response.prediction_id.empty()) {
    (*proto->mutable_parameters())["prediction_id"].set_string_param(response.prediction_id);
  }
  for (const serving::OutputTensor& output : response.outputs) {
    auto* tensor = proto->add_outputs();
    tensor->set_name(output.name);
    tensor->set_datatype(output.datatype);
    uint64_t count = 1;
    for (int64_t d : output.shape) {
      tensor->add_shape(d);
      count *= static_cast<uint64_t>(d);
    }
    static_assert(sizeof(float) == sizeof(int32_t));
    const char* data = output.datatype == "INT32"
                           ? reinterpret_cast<const char*>(response.int_data(output))
                           : reinterpret_cast<const char*>(response.data(output));
    proto->add_raw_output_contents()->assign(data, count * sizeof(float));
  }
}

void EncodeModelMetadata(const serving::ModelMetadata& metadata,
                         inference::ModelMetadataResponse* proto) {
  proto->set_name(metadata.name);
  for (const auto& version : metadata.versions) proto->add_versions(version);
  proto->set_platform(metadata.platform);
  auto add = [](const serving::TensorMetadata& from,
                inference::ModelMetadataResponse::TensorMetadata* to) {
    to->set_name(from.name);
    to->set_datatype(from.datatype);
    for (int64_t d : from.shape) to->add_shape(d);
  };
  for (const auto& input : metadata.inputs) add(input, proto->add_inputs());
  for (const auto& output : metadata.outputs) add(output, proto->add_outputs());
}

}  // namespace inferd::grpcapi
