// GrpcServer against a real model repository, through a real channel on a
// loopback port chosen by the kernel.
#include "grpc/grpc_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstring>
#include <future>
#include <thread>

#include "grpc/grpc_service.grpc.pb.h"
#include "grpc/health.grpc.pb.h"
#include "model/directory_source.h"

namespace inferd::grpcapi {
namespace {

using inference::GRPCInferenceService;

constexpr int kFeatures = 30;  // breast_cancer

class GrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(repo_->LoadAll().ok());
    auto executor = serving::Executor::Create({.threads = 1, .max_queued = 8});
    ASSERT_TRUE(executor.ok());
    executor_ = std::move(executor).value();
  }
  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::milliseconds(0));
  }

  void Start(GrpcServer::Options options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.server_version = "test";
    options.executor = executor_.get();
    auto server = GrpcServer::Create(options, &service_, &health_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    channel_ = ::grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                     ::grpc::InsecureChannelCredentials());
    stub_ = GRPCInferenceService::NewStub(channel_);
  }

  static inference::ModelInferRequest Rows(int rows) {
    inference::ModelInferRequest request;
    request.set_model_name("breast_cancer");
    request.set_id("r1");
    auto* input = request.add_inputs();
    input->set_name("input__0");
    input->set_datatype("FP32");
    input->add_shape(rows);
    input->add_shape(kFeatures);
    for (int i = 0; i < rows * kFeatures; ++i) {
      input->mutable_contents()->add_fp32_contents(static_cast<float>(i % 7));
    }
    return request;
  }

  model::DirectorySource source_{INFERD_TEST_DATA "/models"};
  std::unique_ptr<model::ModelRepository> repo_ =
      model::ModelRepository::Create({.source = &source_});
  serving::InferenceService service_{{.models = repo_.get()}};
  serving::Health health_;
  std::unique_ptr<serving::Executor> executor_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<::grpc::Channel> channel_;
  std::unique_ptr<GRPCInferenceService::Stub> stub_;
};

TEST_F(GrpcServerTest, HealthFollowsReadiness) {
  Start();
  auto health = ::grpc::health::v1::Health::NewStub(channel_);
  auto check = [&](const std::string& service, ::grpc::Status* status = nullptr) {
    ::grpc::ClientContext context;
    ::grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    ::grpc::health::v1::HealthCheckResponse response;
    ::grpc::Status st = health->Check(&context, request, &response);
    if (status) *status = st;
    return response.status();
  };
  using Response = ::grpc::health::v1::HealthCheckResponse;
  EXPECT_EQ(check(""), Response::NOT_SERVING);
  health_.SetLoaded();
  EXPECT_EQ(check(""), Response::SERVING);
  EXPECT_EQ(check("inference.GRPCInferenceService"), Response::SERVING);
  ::grpc::Status unknown;
  check("other", &unknown);
  EXPECT_EQ(unknown.error_code(), ::grpc::StatusCode::NOT_FOUND);

  ::grpc::ClientContext context;
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(&context, {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  health_.SetDraining();
  EXPECT_EQ(check(""), Response::NOT_SERVING);
}

TEST_F(GrpcServerTest, InferMatchesTheModel) {
  Start();
  auto request = Rows(3);
  inference::ModelInferResponse response;
  ::grpc::ClientContext context;
  ::grpc::Status status = stub_->ModelInfer(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.model_name(), "breast_cancer");
  EXPECT_EQ(response.model_version(), "1");
  EXPECT_EQ(response.id(), "r1");
  EXPECT_FALSE(response.parameters().at("prediction_id").string_param().empty());
  ASSERT_EQ(response.raw_output_contents_size(), 1);
  auto servable = repo_->Get("breast_cancer", "");
  ASSERT_TRUE(servable.ok());
  std::vector<float> expected;
  ASSERT_TRUE((*servable)->Predict(request.inputs(0).contents().fp32_contents().data(), 3,
                                   &expected).ok());
  ASSERT_EQ(response.raw_output_contents(0).size(), expected.size() * sizeof(float));
  EXPECT_EQ(std::memcmp(response.raw_output_contents(0).data(), expected.data(),
                        expected.size() * sizeof(float)),
            0);
}

TEST_F(GrpcServerTest, ErrorsAreStatusCodes) {
  Start();
  auto request = Rows(1);
  request.set_model_name("nope");
  inference::ModelInferResponse response;
  ::grpc::ClientContext unknown;
  EXPECT_EQ(stub_->ModelInfer(&unknown, request, &response).error_code(),
            ::grpc::StatusCode::NOT_FOUND);

  request = Rows(1);
  request.mutable_inputs(0)->set_shape(1, kFeatures - 1);
  request.mutable_inputs(0)->mutable_contents()->mutable_fp32_contents()->RemoveLast();
  ::grpc::ClientContext bad_shape;
  ::grpc::Status status = stub_->ModelInfer(&bad_shape, request, &response);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "input 'input__0': shape [1,29] must be [rows, 30]");

  inference::ModelReadyRequest ready_request;
  ready_request.set_name("nope");
  inference::ModelReadyResponse ready;
  ::grpc::ClientContext model_ready;
  ASSERT_TRUE(stub_->ModelReady(&model_ready, ready_request, &ready).ok());
  EXPECT_FALSE(ready.ready());
}

TEST_F(GrpcServerTest, MessageSizeLimit) {
  Start({.max_message_bytes = 1024});
  inference::ModelInferResponse response;
  ::grpc::ClientContext context;
  EXPECT_EQ(stub_->ModelInfer(&context, Rows(64), &response).error_code(),
            ::grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(GrpcServerTest, AdminTokenGuardsUnload) {
  Start({.admin_token = "s3cret"});
  inference::RepositoryModelUnloadRequest request;
  request.set_model_name("iris");
  inference::RepositoryModelUnloadResponse response;
  ::grpc::ClientContext none;
  EXPECT_EQ(stub_->RepositoryModelUnload(&none, request, &response).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
  ::grpc::ClientContext wrong;
  wrong.AddMetadata("authorization", "Bearer s3cre7");
  EXPECT_EQ(stub_->RepositoryModelUnload(&wrong, request, &response).error_code(),
            ::grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(repo_->Get("iris", "").ok());
  ::grpc::ClientContext right;
  right.AddMetadata("authorization", "Bearer s3cret");
  EXPECT_TRUE(stub_->RepositoryModelUnload(&right, request, &response).ok());
  EXPECT_FALSE(repo_->Get("iris", "").ok());
}

TEST_F(GrpcServerTest, ExpiredRequestIsNotRun) {
  Start();
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ASSERT_TRUE(executor_->Submit([released] { released.wait(); }).ok());  // the one worker
  inference::RepositoryModelUnloadRequest request;
  request.set_model_name("iris");
  inference::RepositoryModelUnloadResponse response;
  ::grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  ::grpc::Status status = stub_->RepositoryModelUnload(&context, request, &response);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server's deadline is its receive time plus the timeout the client sent,
  // so it can end later than the client's when the request was slow to arrive:
  // release the worker only once it has surely passed too.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  release.set_value();
  // The queued unload sees its deadline passed and leaves the model alone.
  while (executor_->queued() + executor_->running() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(repo_->Get("iris", "").ok());
}

TEST_F(GrpcServerTest, StreamAnswersEachRequestInOrder) {
  Start();
  ::grpc::ClientContext context;
  auto stream = stub_->ModelStreamInfer(&context);
  auto bad = Rows(1);
  bad.set_id("bad");
  bad.set_model_name("nope");
  ASSERT_TRUE(stream->Write(Rows(2)));
  ASSERT_TRUE(stream->Write(bad));
  ASSERT_TRUE(stream->WritesDone());
  inference::ModelStreamInferResponse first, second;
  ASSERT_TRUE(stream->Read(&first));
  EXPECT_EQ(first.error_message(), "");
  EXPECT_EQ(first.infer_response().raw_output_contents(0).size(), 2 * sizeof(float));
  ASSERT_TRUE(stream->Read(&second));
  EXPECT_NE(second.error_message(), "");
  EXPECT_EQ(second.infer_response().id(), "bad");
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(GrpcServerTest, PortInUseFails) {
  Start();
  GrpcServer::Options options{.host = "127.0.0.1", .port = server_->port()};
  auto second = GrpcServer::Create(options, &service_, &health_);
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace inferd::grpcapi
