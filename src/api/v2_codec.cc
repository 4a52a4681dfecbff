#include "api/v2_codec.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "api/json_body.h"
#include "common/json_writer.h"

namespace inferd::api {
namespace od = simdjson::ondemand;
namespace {

using serving::ElementCount;
using serving::ElementSize;

constexpr int kMaxDataDepth = 32;
// Values reserved up front from a "shape" that comes before "data"; a larger
// claimed shape grows the buffer as values arrive instead.
constexpr uint64_t kMaxReserve = 1 << 20;
constexpr char kHeaderLength[] = "Inference-Header-Content-Length";

// One binary input waiting for its bytes: index into inputs, byte count.
struct BinaryInput {
  size_t input;
  uint64_t bytes;
};

Status JsonError(std::string_view where, simdjson::error_code err) {
  return InvalidArgument("invalid JSON in " + std::string(where) + ": " +
                         simdjson::error_message(err));
}

// Triton reads tensor data with rapidjson's kParseNanAndInfFlag, which also
// takes the bare tokens NaN, Inf and Infinity, each optionally after '-'; and
// tritonclient's JSON path writes NaN for a missing value (Python's json with
// allow_nan). The value of such a token (NaN: missing), else nullopt.
std::optional<float> NonFiniteToken(std::string_view token) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                            token.back() == '\r')) {
    token.remove_suffix(1);  // raw_json_token keeps the whitespace that follows
  }
  const bool negative = !token.empty() && token.front() == '-';
  if (negative) token.remove_prefix(1);
  if (token == "NaN") return std::numeric_limits<float>::quiet_NaN();
  if (token == "Infinity" || token == "Inf") {
    return negative ? -std::numeric_limits<float>::infinity()
                    : std::numeric_limits<float>::infinity();
  }
  return std::nullopt;
}

// Appends the value of `token` when it is a non-finite one, else returns the
// error that simdjson gave for it.
Status AppendNonFinite(std::string_view token, const std::string& input, simdjson::error_code err,
                       std::vector<float>* out) {
  std::optional<float> v = NonFiniteToken(token);
  if (!v) return JsonError("input '" + input + "' data", err);
  out->push_back(*v);
  return Status::Ok();
}

// Appends the numbers of a (possibly nested) JSON array to `out`. Numbers take
// simdjson's path; only a value it rejects is checked for a non-finite token.
Status AppendNumbers(od::value value, const std::string& input, int depth,
                     std::vector<float>* out) {
  od::json_type type;
  if (auto err = value.type().get(type)) {
    return AppendNonFinite(value.raw_json_token(), input, err, out);  // NaN, Inf: untyped
  }
  switch (type) {
    case od::json_type::array: {
      if (depth > kMaxDataDepth) {
        return InvalidArgument("input '" + input + "': data nested deeper than " +
                               std::to_string(kMaxDataDepth));
      }
      od::array array;
      if (auto err = value.get_array().get(array)) return JsonError("input data", err);
      for (auto child : array) {
        od::value element;
        if (auto err = child.get(element)) return JsonError("input '" + input + "' data", err);
        // Fast path: a number (the common case) is read without asking its type.
        double d;
        if (element.get_double().get(d) == simdjson::SUCCESS) {
          out->push_back(static_cast<float>(d));
          continue;
        }
        RETURN_IF_ERROR(AppendNumbers(element, input, depth + 1, out));
      }
      return Status::Ok();
    }
    case od::json_type::number: {
      double d;
      if (auto err = value.get_double().get(d)) {
        return AppendNonFinite(value.raw_json_token(), input, err, out);  // -Infinity, -NaN
      }
      out->push_back(static_cast<float>(d));
      return Status::Ok();
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto err = value.is_null().get(is_null); err || !is_null) {
        return InvalidArgument("input '" + input + "': data holds a non-numeric value at element " +
                               std::to_string(out->size()));
      }
      out->push_back(std::numeric_limits<float>::quiet_NaN());
      return Status::Ok();
    }
    default:
      return InvalidArgument("input '" + input + "': data holds a non-numeric value at element " +
                             std::to_string(out->size()));
  }
}

Status ParseShape(od::value value, InferInput* input) {
  od::array array;
  if (value.get_array().get(array)) {
    return InvalidArgument("input '" + input->name + "': shape must be an array of integers");
  }
  for (auto dim : array) {
    int64_t d;
    if (dim.get_int64().get(d) || d < 0) {
      return InvalidArgument("input '" + input->name +
                             "': shape must hold non-negative integers");
    }
    input->shape.push_back(d);
  }
  return Status::Ok();
}

// Reads the optional "parameters" of an input; returns binary_data_size or 0.
StatusOr<uint64_t> ParseInputParameters(od::value value, const std::string& name) {
  od::object params;
  if (value.get_object().get(params)) {
    return InvalidArgument("input '" + name + "': parameters must be an object");
  }
  uint64_t binary_size = 0;
  for (auto field : params) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key)) return JsonError("parameters", err);
    if (key == "binary_data_size") {
      if (field.value().get_uint64().get(binary_size)) {
        return InvalidArgument("input '" + name +
                               "': binary_data_size must be a non-negative integer");
      }
    }
  }
  return binary_size;
}

StatusOr<uint64_t> ParseInput(od::object object, InferInput* input) {
  bool has_data = false;
  uint64_t binary_size = 0;
  for (auto field : object) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key)) return JsonError("inputs", err);
    od::value value;
    if (auto err = field.value().get(value)) return JsonError("inputs", err);
    if (key == "name") {
      std::string_view s;
      if (value.get_string().get(s)) return InvalidArgument("input name must be a string");
      input->name = std::string(s);
    } else if (key == "datatype") {
      std::string_view s;
      if (value.get_string().get(s)) return InvalidArgument("input datatype must be a string");
      input->datatype = std::string(s);
    } else if (key == "shape") {
      RETURN_IF_ERROR(ParseShape(value, input));
    } else if (key == "data") {
      has_data = true;
      if (auto n = ElementCount(input->shape); n && *n <= kMaxReserve) input->data.reserve(*n);
      RETURN_IF_ERROR(AppendNumbers(value, input->name, 0, &input->data));
    } else if (key == "parameters") {
      ASSIGN_OR_RETURN(binary_size, ParseInputParameters(value, input->name));
    }
  }
  if (input->name.empty()) return InvalidArgument("every input needs a \"name\"");
  const std::string where = "input '" + input->name + "'";
  if (ElementSize(input->datatype) == 0) {
    return InvalidArgument(where + ": datatype '" + input->datatype +
                           "' is not supported; use FP32, FP64, INT32 or INT64");
  }
  if (input->shape.empty()) return InvalidArgument(where + ": \"shape\" is required");
  if (has_data == (binary_size > 0)) {
    return InvalidArgument(where + (has_data ? ": has both \"data\" and binary_data_size"
                                             : ": needs \"data\" or binary_data_size"));
  }
  return binary_size;
}

// Fills request->outputs; `explicit_binary` gets each output's own binary_data
// choice, resolved against the request-level flag once the whole body is read.
Status ParseOutputs(od::array array, InferRequest* request,
                    std::vector<std::optional<bool>>* explicit_binary) {
  for (auto element : array) {
    od::object object;
    if (element.get_object().get(object)) return InvalidArgument("outputs must hold objects");
    RequestedOutput output;
    std::optional<bool> binary;
    for (auto field : object) {
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return JsonError("outputs", err);
      if (key == "name") {
        std::string_view s;
        if (field.value().get_string().get(s)) return InvalidArgument("output name must be a string");
        output.name = std::string(s);
      } else if (key == "parameters") {
        od::object params;
        if (field.value().get_object().get(params)) {
          return InvalidArgument("output parameters must be an object");
        }
        for (auto param : params) {
          std::string_view pkey;
          if (auto err = param.unescaped_key().get(pkey)) return JsonError("outputs", err);
          if (pkey == "binary_data") {
            bool b;
            if (param.value().get_bool().get(b)) {
              return InvalidArgument("output parameter binary_data must be a boolean");
            }
            binary = b;
          }
        }
      }
    }
    if (output.name.empty()) return InvalidArgument("every requested output needs a \"name\"");
    request->outputs.push_back(std::move(output));
    explicit_binary->push_back(binary);
  }
  return Status::Ok();
}

template <typename T>
void ConvertInto(const char* bytes, uint64_t count, std::vector<float>* out) {
  out->resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, bytes + i * sizeof(T), sizeof(T));
    (*out)[i] = static_cast<float>(v);
  }
}

Status DecodeBinary(std::string_view bytes, InferInput* input) {
  const uint64_t count = bytes.size() / ElementSize(input->datatype);
  if (input->datatype == "FP32" &&
      reinterpret_cast<uintptr_t>(bytes.data()) % alignof(float) == 0) {
    input->view = reinterpret_cast<const float*>(bytes.data());  // zero copy
    input->view_count = count;
  } else if (input->datatype == "FP32") {
    input->data.resize(count);
    std::memcpy(input->data.data(), bytes.data(), bytes.size());
  } else if (input->datatype == "FP64") {
    ConvertInto<double>(bytes.data(), count, &input->data);
  } else if (input->datatype == "INT32") {
    ConvertInto<int32_t>(bytes.data(), count, &input->data);
  } else {
    ConvertInto<int64_t>(bytes.data(), count, &input->data);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<InferRequest> ParseInferRequest(const http::Request& http_request) {
  const std::string& body = http_request.body;
  size_t json_size = body.size();
  std::string_view header_length = http_request.Header(kHeaderLength);
  if (!header_length.empty()) {
    auto [end, ec] = std::from_chars(header_length.data(),
                                     header_length.data() + header_length.size(), json_size);
    if (ec != std::errc() || end != header_length.data() + header_length.size() ||
        json_size > body.size()) {
      return InvalidArgument(std::string(kHeaderLength) + " '" + std::string(header_length) +
                             "' is not a byte count within the body of " +
                             std::to_string(body.size()) + " bytes");
    }
  }
  if (!http_request.Header("Content-Encoding").empty() &&
      http_request.Header("Content-Encoding") != "identity") {
    return InvalidArgument("Content-Encoding '" +
                           std::string(http_request.Header("Content-Encoding")) +
                           "' is not supported; send an uncompressed body");
  }

  thread_local od::parser parser;
  simdjson::padded_string padded_copy;
  od::document doc;
  simdjson::error_code err = IterateJson(parser, body, json_size, &padded_copy, &doc);
  if (err) return JsonError("request body", err);
  od::object root;
  if ((err = doc.get_object().get(root))) {
    if (err == simdjson::INCORRECT_TYPE) {
      return InvalidArgument("request body must be a JSON object");
    }
    return JsonError("request body", err);
  }

  InferRequest request;
  std::vector<BinaryInput> binary_inputs;
  bool has_inputs = false;
  std::vector<std::optional<bool>> explicit_binary;
  for (auto field : root) {
    std::string_view key;
    if ((err = field.unescaped_key().get(key))) return JsonError("request body", err);
    od::value value;
    if ((err = field.value().get(value))) return JsonError("request body", err);
    if (key == "id") {
      std::string_view s;
      if (value.get_string().get(s)) return InvalidArgument("\"id\" must be a string");
      request.id = std::string(s);
    } else if (key == "parameters") {
      od::object params;
      if (value.get_object().get(params)) return InvalidArgument("\"parameters\" must be an object");
      for (auto param : params) {
        std::string_view pkey;
        if ((err = param.unescaped_key().get(pkey))) return JsonError("parameters", err);
        if (pkey == "binary_data_output") {
          bool b;
          if (param.value().get_bool().get(b)) {
            return InvalidArgument("parameter binary_data_output must be a boolean");
          }
          request.binary_data_output = b;
        } else if (pkey == "output_kind") {
          std::string_view kind;
          if (param.value().get_string().get(kind) || (kind != "probability" && kind != "margin")) {
            return InvalidArgument("parameter output_kind must be \"probability\" or \"margin\"");
          }
          request.output_kind =
              kind == "margin" ? model::OutputKind::kMargin : model::OutputKind::kProbability;
        } else if (pkey == "base_margin") {
          od::array margins;
          if (param.value().get_array().get(margins)) {
            return InvalidArgument("parameter base_margin must be an array of numbers");
          }
          for (auto margin : margins) {
            double v;
            if (margin.get_double().get(v)) {
              return InvalidArgument("parameter base_margin must be an array of numbers");
            }
            request.base_margin.push_back(static_cast<float>(v));
          }
        } else if (pkey == "iteration_range") {
          od::array range;
          std::vector<int64_t> bounds;
          if (!param.value().get_array().get(range)) {
            for (auto bound : range) {
              int64_t v;
              if (bound.get_int64().get(v)) break;
              bounds.push_back(v);
            }
          }
          if (bounds.size() != 2) {
            return InvalidArgument("parameter iteration_range must be [begin, end] (integers)");
          }
          request.iteration_begin = bounds[0];
          request.iteration_end = bounds[1];
        }
      }
    } else if (key == "inputs") {
      has_inputs = true;
      od::array inputs;
      if (value.get_array().get(inputs)) return InvalidArgument("\"inputs\" must be an array");
      for (auto element : inputs) {
        od::object object;
        if (element.get_object().get(object)) return InvalidArgument("inputs must hold objects");
        InferInput input;
        ASSIGN_OR_RETURN(uint64_t binary_size, ParseInput(object, &input));
        if (binary_size > 0) binary_inputs.push_back({request.inputs.size(), binary_size});
        request.inputs.push_back(std::move(input));
      }
    } else if (key == "outputs") {
      od::array outputs;
      if (value.get_array().get(outputs)) return InvalidArgument("\"outputs\" must be an array");
      RETURN_IF_ERROR(ParseOutputs(outputs, &request, &explicit_binary));
    }
  }
  if (!AtEnd(doc)) return InvalidArgument("trailing content after the JSON request body");
  if (!has_inputs || request.inputs.empty()) {
    return InvalidArgument("request has no \"inputs\"");
  }
  for (size_t i = 0; i < request.outputs.size(); ++i) {
    request.outputs[i].binary = explicit_binary[i].value_or(request.binary_data_output);
  }

  std::string_view binary(body.data() + json_size, body.size() - json_size);
  if (!binary.empty() && binary_inputs.empty()) {
    return InvalidArgument(std::to_string(binary.size()) +
                           " bytes follow the JSON header but no input has binary_data_size");
  }
  uint64_t offset = 0;
  for (const auto& [index, bytes] : binary_inputs) {
    InferInput& input = request.inputs[index];
    if (bytes > binary.size() - offset) {
      return InvalidArgument("input '" + input.name + "': binary_data_size " +
                             std::to_string(bytes) + " runs past the end of the body");
    }
    auto elements = ElementCount(input.shape);
    if (!elements || *elements * ElementSize(input.datatype) != bytes) {
      return InvalidArgument("input '" + input.name + "': shape " + ShapeToString(input.shape) +
                             " of " + input.datatype + " needs " +
                             (elements ? std::to_string(*elements * ElementSize(input.datatype))
                                       : std::string("too many")) +
                             " bytes, binary_data_size is " + std::to_string(bytes));
    }
    RETURN_IF_ERROR(DecodeBinary(binary.substr(offset, bytes), &input));
    offset += bytes;
  }
  if (offset != binary.size()) {
    return InvalidArgument("the body holds " + std::to_string(binary.size() - offset) +
                           " binary bytes beyond the inputs' binary_data_size");
  }
  for (const auto& input : request.inputs) {
    auto elements = ElementCount(input.shape);
    if (!elements || *elements != input.count()) {
      return InvalidArgument("input '" + input.name + "': shape " + ShapeToString(input.shape) +
                             " needs " + (elements ? std::to_string(*elements) : "too many") +
                             " values, data has " + std::to_string(input.count()));
    }
  }
  return request;
}

http::Response EncodeInferResponse(std::string_view model_name, int64_t model_version,
                                   std::string_view id,
                                   const std::vector<InferOutput>& outputs,
                                   std::string_view prediction_id) {
  http::Response response;
  std::string& body = response.body;
  size_t values = 0;
  for (const auto& output : outputs) values += *ElementCount(output.shape);
  body.reserve(128 + values * 12);
  JsonWriter json(&body);
  json.BeginObject();
  json.Key("model_name").String(model_name);
  json.Key("model_version").String(std::to_string(model_version));
  if (!id.empty()) json.Key("id").String(id);
  if (!prediction_id.empty()) {
    json.Key("parameters").BeginObject().Key("prediction_id").String(prediction_id).EndObject();
    response.headers.emplace_back("X-Prediction-Id", std::string(prediction_id));
  }
  json.Key("outputs").BeginArray();
  bool any_binary = false;
  for (const auto& output : outputs) {
    const uint64_t count = *ElementCount(output.shape);
    json.BeginObject();
    json.Key("name").String(output.name);
    json.Key("datatype").String(output.int_data ? "INT32" : "FP32");
    json.Key("shape").BeginArray();
    for (int64_t d : output.shape) json.Int(d);
    json.EndArray();
    if (output.binary) {
      any_binary = true;
      json.Key("parameters").BeginObject().Key("binary_data_size").Uint(count * sizeof(float));
      json.EndObject();
    } else if (output.int_data) {
      json.Key("data").BeginArray();
      for (uint64_t i = 0; i < count; ++i) json.Int(output.int_data[i]);
      json.EndArray();
    } else {
      json.Key("data").BeginArray();
      // As Triton writes them: NaN, Infinity, -Infinity (null would lose the sign).
      for (uint64_t i = 0; i < count; ++i) {
        json.Float(output.data[i], JsonWriter::NonFinite::kTritonTokens);
      }
      json.EndArray();
    }
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  if (any_binary) {
    response.headers.emplace_back(kHeaderLength, std::to_string(body.size()));
    response.content_type = "application/octet-stream";
    for (const auto& output : outputs) {
      if (!output.binary) continue;
      static_assert(sizeof(float) == sizeof(int32_t));
      body.append(output.int_data ? reinterpret_cast<const char*>(output.int_data)
                                  : reinterpret_cast<const char*>(output.data),
                  *ElementCount(output.shape) * sizeof(float));
    }
  }
  return response;
}

http::Response EncodeInferResponse(const serving::InferResponse& response) {
  std::vector<InferOutput> outputs;
  outputs.reserve(response.outputs.size());
  for (const serving::OutputTensor& output : response.outputs) {
    if (output.datatype == "INT32") {
      outputs.push_back(
          {output.name, output.shape, nullptr, output.binary, response.int_data(output)});
    } else {
      outputs.push_back({output.name, output.shape, response.data(output), output.binary});
    }
  }
  return EncodeInferResponse(response.model_name, response.model_version, response.id, outputs,
                             response.prediction_id);
}

}  // namespace inferd::api
