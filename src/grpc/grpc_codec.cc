#include "grpc/grpc_codec.h"

#include <bit>
#include <cstring>
#include <limits>
#include <optional>
#include <string>

namespace inferd::grpcapi {
namespace {

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
    tensor->set_datatype("FP32");
    uint64_t count = 1;
    for (int64_t d : output.shape) {
      tensor->add_shape(d);
      count *= static_cast<uint64_t>(d);
    }
    proto->add_raw_output_contents()->assign(reinterpret_cast<const char*>(response.data(output)),
                                             count * sizeof(float));
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
