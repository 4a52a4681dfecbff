#include "grpc/grpc_server.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <absl/synchronization/mutex.h>
#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "common/bearer_token.h"
#include "grpc/grpc_codec.h"
#include "grpc/grpc_service.grpc.pb.h"
#include "grpc/grpc_status.h"
#include "grpc/health.grpc.pb.h"

namespace inferd::grpcapi {
namespace {

using ::grpc::CallbackServerContext;
using ::grpc::ServerUnaryReactor;

constexpr char kServerName[] = "inferd";
constexpr int kOwnExecutorThreads = 2;
// ModelInfer calls each serving thread keeps waiting for clients.
constexpr int kWaitingCallsPerThread = 16;
constexpr size_t kOwnExecutorQueue = 1024;
constexpr std::string_view kInferenceService = "inference.GRPCInferenceService";

// DEADLINE_EXCEEDED or CANCELLED when the call should not be run any more.
// libgrpc++ can tell cancellation only on the callback API (on the async API
// IsCancelled needs a completion op that inferd does not ask for).
::grpc::Status CheckStillWanted(const ::grpc::ServerContextBase* context) {
  if (context->deadline() <= std::chrono::system_clock::now()) {
    return {::grpc::StatusCode::DEADLINE_EXCEEDED, "the request's deadline passed before it ran"};
  }
  if (dynamic_cast<const CallbackServerContext*>(context) != nullptr && context->IsCancelled()) {
    return {::grpc::StatusCode::CANCELLED, "the client cancelled the request before it ran"};
  }
  return ::grpc::Status::OK;
}

// libgrpc's own log lines (bind failures, transport errors) go through spdlog,
// so they take the process's log format instead of gRPC's stderr lines.
void LogThroughSpdlog(gpr_log_func_args* args) {
  const auto level = args->severity == GPR_LOG_SEVERITY_ERROR  ? spdlog::level::err
                     : args->severity == GPR_LOG_SEVERITY_INFO ? spdlog::level::info
                                                               : spdlog::level::debug;
  spdlog::log(level, "grpc: {}", args->message);
}

std::string_view Metadata(const ::grpc::ServerContextBase* context, std::string_view key) {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find(::grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return {};
  return {it->second.data(), it->second.size()};
}

}  // namespace

// The inference service's RPCs, the health service, and what they share.
class GrpcServer::Impl {
 public:
  Impl(const Options& options, const serving::InferenceService* service,
       const serving::Health* health)
      : options_(options), service_(service), health_(health), inference_(this), checks_(this) {}

  Status Start(std::unique_ptr<serving::Executor> own_executor);
  // The server first (its calls end, answered or cancelled), then the work
  // still on the executor, then the completion queue and its threads.
  void Shutdown(std::chrono::milliseconds grace) {
    std::call_once(shutdown_once_, [&] {
      server_->Shutdown(std::chrono::system_clock::now() + grace);
      server_->Wait();
      {
        std::unique_lock lock(jobs_mu_);
        jobs_cv_.wait(lock, [this] { return jobs_ == 0; });
      }
      {
        std::lock_guard lock(queue_mu_);
        queue_closed_ = true;
      }
      queue_->Shutdown();
      for (auto& thread : threads_) thread.join();
    });
  }
  int port() const { return port_; }

  // Runs `start`, which starts an operation on the completion queue, unless
  // the queue is shut down (false). libgrpc asserts on an operation started on
  // a shut-down queue, and a call matched just before Shutdown can still be
  // taken from the queue after it.
  template <typename Start>
  bool WhileQueueOpen(Start start) {
    std::lock_guard lock(queue_mu_);
    if (queue_closed_) return false;
    start();
    return true;
  }

  // One inference: looks the model up, decodes, runs the shared path, encodes.
  // Counts a request that fails after the model was found, as REST does.
  ::grpc::Status Infer(const ::grpc::ServerContextBase* context,
                       const inference::ModelInferRequest& request,
                       inference::ModelInferResponse* response) const {
    if (auto wanted = CheckStillWanted(context); !wanted.ok()) return wanted;
    auto servable = service_->Find(request.model_name(), request.model_version());
    if (!servable.ok()) return ToGrpcStatus(servable.status());
    auto decoded = DecodeInferRequest(request);
    if (!decoded.ok()) return ToGrpcStatus(service_->Reject(**servable, decoded.status()));
    auto result = service_->Infer(**servable, *decoded, serving::Protocol::kGrpc);
    if (!result.ok()) return ToGrpcStatus(result.status());
    EncodeInferResponse(*result, response);
    return ::grpc::Status::OK;
  }

  bool MayBlock(const inference::ModelInferRequest& request) const {
    return service_->MayBlock(request.model_name(), request.model_version());
  }

  // Runs `work` on the executor unless the call is no longer wanted by then;
  // `finish` gets its status. UNAVAILABLE at once when the queue is full.
  template <typename Work, typename Finish>
  void OnWorker(const ::grpc::ServerContextBase* context, Work work, Finish finish) {
    {
      std::lock_guard lock(jobs_mu_);
      ++jobs_;
    }
    Status queued = executor_->Submit([this, context, work = std::move(work), finish]() mutable {
      ::grpc::Status wanted = CheckStillWanted(context);
      finish(wanted.ok() ? work() : wanted);
      JobDone();
    });
    if (!queued.ok()) {
      finish(ToGrpcStatus(queued));
      JobDone();
    }
  }

  void JobDone() {
    std::lock_guard lock(jobs_mu_);
    if (--jobs_ == 0) jobs_cv_.notify_all();
  }

  Status CheckAdmin(const CallbackServerContext* context) const {
    return CheckBearerToken(options_.admin_token, Metadata(context, "authorization"), "RPC",
                            "authorization");
  }

  const Options options_;
  const serving::InferenceService* const service_;
  const serving::Health* const health_;

 private:
  // Every RPC on the callback API but ModelInfer, which is served on the
  // async API by InferCall (see there why). The async wrapper must sit right
  // above the sync Service: libgrpc++ only drops a method's handler when it
  // turns a sync method async, not a callback one.
  using S = inference::GRPCInferenceService;
  using Rpcs = S::WithCallbackMethod_ServerLive<S::WithCallbackMethod_ServerReady<
      S::WithCallbackMethod_ModelReady<S::WithCallbackMethod_ServerMetadata<
          S::WithCallbackMethod_ModelMetadata<S::WithCallbackMethod_ModelStreamInfer<
              S::WithCallbackMethod_RepositoryIndex<S::WithCallbackMethod_RepositoryModelLoad<
                  S::WithCallbackMethod_RepositoryModelUnload<
                      S::WithAsyncMethod_ModelInfer<S::Service>>>>>>>>>>;

  class InferenceRpcs final : public Rpcs {
   public:
    explicit InferenceRpcs(Impl* impl) : impl_(impl) {}

    ServerUnaryReactor* ServerLive(CallbackServerContext* context,
                                   const inference::ServerLiveRequest*,
                                   inference::ServerLiveResponse* response) override {
      response->set_live(true);
      return Done(context, ::grpc::Status::OK);
    }

    ServerUnaryReactor* ServerReady(CallbackServerContext* context,
                                    const inference::ServerReadyRequest*,
                                    inference::ServerReadyResponse* response) override {
      response->set_ready(impl_->health_->ready());
      return Done(context, ::grpc::Status::OK);
    }

    // Triton's answer for a model it does not know is ready=false, not an
    // error, and tritonclient's is_model_ready relies on it.
    ServerUnaryReactor* ModelReady(CallbackServerContext* context,
                                   const inference::ModelReadyRequest* request,
                                   inference::ModelReadyResponse* response) override {
      auto servable = impl_->service_->Find(request->name(), request->version());
      if (!servable.ok() && servable.status().code() != StatusCode::kNotFound) {
        return Done(context, ToGrpcStatus(servable.status()));
      }
      response->set_ready(servable.ok());
      return Done(context, ::grpc::Status::OK);
    }

    ServerUnaryReactor* ServerMetadata(CallbackServerContext* context,
                                       const inference::ServerMetadataRequest*,
                                       inference::ServerMetadataResponse* response) override {
      response->set_name(kServerName);
      response->set_version(impl_->options_.server_version);
      response->add_extensions("binary_tensor_data");
      response->add_extensions("model_repository");
      return Done(context, ::grpc::Status::OK);
    }

    ServerUnaryReactor* ModelMetadata(CallbackServerContext* context,
                                      const inference::ModelMetadataRequest* request,
                                      inference::ModelMetadataResponse* response) override {
      auto metadata = impl_->service_->Metadata(request->name(), request->version());
      if (metadata.ok()) EncodeModelMetadata(*metadata, response);
      return Done(context, ToGrpcStatus(metadata.status()));
    }

    ::grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>*
    ModelStreamInfer(CallbackServerContext* context) override {
      return new StreamReactor(impl_, context);
    }

    ServerUnaryReactor* RepositoryIndex(CallbackServerContext* context,
                                        const inference::RepositoryIndexRequest* request,
                                        inference::RepositoryIndexResponse* response) override {
      ServerUnaryReactor* reactor = context->DefaultReactor();
      impl_->OnWorker(
          context, [this, request, response] {
            for (const auto& entry : impl_->service_->models()->Index()) {
              if (request->ready() && entry.state != "READY") continue;
              auto* model = response->add_models();
              model->set_name(entry.name);
              model->set_version(entry.version);
              model->set_state(entry.state);
              model->set_reason(entry.reason);
            }
            return ::grpc::Status::OK;
          },
          [reactor](const ::grpc::Status& status) { reactor->Finish(status); });
      return reactor;
    }

    ServerUnaryReactor* RepositoryModelLoad(CallbackServerContext* context,
                                            const inference::RepositoryModelLoadRequest* request,
                                            inference::RepositoryModelLoadResponse*) override {
      if (Status st = impl_->CheckAdmin(context); !st.ok()) return Done(context, ToGrpcStatus(st));
      for (const auto& [key, value] : request->parameters()) {
        if (key == "config" || key.starts_with("file:")) {
          return Done(context, ToGrpcStatus(Unimplemented(
                                   "load parameter '" + key +
                                   "' is not supported: a model is loaded from its source")));
        }
      }
      return Mutate(context, [this, request] {
        return impl_->service_->models()->Load(request->model_name());
      });
    }

    ServerUnaryReactor* RepositoryModelUnload(
        CallbackServerContext* context, const inference::RepositoryModelUnloadRequest* request,
        inference::RepositoryModelUnloadResponse*) override {
      if (Status st = impl_->CheckAdmin(context); !st.ok()) return Done(context, ToGrpcStatus(st));
      return Mutate(context, [this, request] {
        return impl_->service_->models()->Unload(request->model_name());
      });
    }

   private:
    // Finishes a call whose answer is ready.
    static ServerUnaryReactor* Done(CallbackServerContext* context, const ::grpc::Status& status) {
      ServerUnaryReactor* reactor = context->DefaultReactor();
      reactor->Finish(status);
      return reactor;
    }

    // Runs a repository change on the executor.
    template <typename Change>
    ServerUnaryReactor* Mutate(CallbackServerContext* context, Change change) {
      ServerUnaryReactor* reactor = context->DefaultReactor();
      impl_->OnWorker(
          context, [change] { return ToGrpcStatus(change()); },
          [reactor](const ::grpc::Status& status) { reactor->Finish(status); });
      return reactor;
    }

    Impl* const impl_;
  };

  // One ModelStreamInfer call: reads a request, answers it, reads the next, so
  // responses come back in request order. A failed inference is answered on
  // the stream (error_message) and the stream goes on, as Triton does.
  class StreamReactor final
      : public ::grpc::ServerBidiReactor<inference::ModelInferRequest,
                                         inference::ModelStreamInferResponse> {
   public:
    StreamReactor(Impl* impl, CallbackServerContext* context) : impl_(impl), context_(context) {
      StartRead(&request_);
    }

    void OnReadDone(bool ok) override {
      if (!ok) {  // the client closed its side (or went away)
        Finish(::grpc::Status::OK);
        return;
      }
      response_.Clear();
      if (!impl_->MayBlock(request_)) {
        Answer(impl_->Infer(context_, request_, response_.mutable_infer_response()));
        return;
      }
      impl_->OnWorker(
          context_, [this] {
            return impl_->Infer(context_, request_, response_.mutable_infer_response());
          },
          [this](const ::grpc::Status& status) { Answer(status); });
    }

    void OnWriteDone(bool ok) override {
      if (!ok) {
        Finish(::grpc::Status(::grpc::StatusCode::CANCELLED, "the stream was closed"));
        return;
      }
      request_.Clear();
      StartRead(&request_);
    }

    void OnDone() override { delete this; }

   private:
    void Answer(const ::grpc::Status& status) {
      if (!status.ok()) {
        response_.Clear();
        response_.set_error_message(status.error_message());
        response_.mutable_infer_response()->set_id(request_.id());
      }
      StartWrite(&response_);
    }

    Impl* const impl_;
    CallbackServerContext* const context_;
    inference::ModelInferRequest request_;
    inference::ModelStreamInferResponse response_;
  };

  // grpc.health.v1.Health/Check, answered from serving::Health at each call,
  // so it agrees with /v2/health/ready and ServerReady at every moment.
  class HealthRpcs final : public ::grpc::health::v1::Health::CallbackService {
   public:
    explicit HealthRpcs(Impl* impl) : impl_(impl) {}

    ServerUnaryReactor* Check(CallbackServerContext* context,
                              const ::grpc::health::v1::HealthCheckRequest* request,
                              ::grpc::health::v1::HealthCheckResponse* response) override {
      ServerUnaryReactor* reactor = context->DefaultReactor();
      if (!request->service().empty() && request->service() != kInferenceService) {
        reactor->Finish(::grpc::Status(::grpc::StatusCode::NOT_FOUND,
                                       "unknown service '" + request->service() +
                                           "': ask for '' or '" +
                                           std::string(kInferenceService) + "'"));
        return reactor;
      }
      response->set_status(impl_->health_->ready()
                               ? ::grpc::health::v1::HealthCheckResponse::SERVING
                               : ::grpc::health::v1::HealthCheckResponse::NOT_SERVING);
      reactor->Finish(::grpc::Status::OK);
      return reactor;
    }

   private:
    Impl* const impl_;
  };

  // One ModelInfer on the async API: a thread that polls the completion
  // queue accepts the call, predicts and answers inline. On the callback API
  // libgrpc++ 1.51 runs each call on its "nexting" threads behind the poller;
  // measured side by side (h2load, 16 calls in flight), the server's CPU per
  // call was 39-40 us there and 34 us here at 1 row, 82-83 and 72-77 us at 64
  // rows. Calls that may wait go to the executor.
  class InferCall {
   public:
    InferCall(Impl* impl, ::grpc::ServerCompletionQueue* cq)
        : impl_(impl), cq_(cq), writer_(&context_) {
      impl_->inference_.RequestModelInfer(&context_, &request_, &writer_, cq_, cq_, this);
    }

    // Called with the completion of this call's last operation.
    void Proceed(bool ok) {
      if (answered_ || !ok) {  // answer sent, or the server is shutting down
        delete this;
        return;
      }
      answered_ = true;
      impl_->WhileQueueOpen([this] { new InferCall(impl_, cq_); });  // the next call
      if (!impl_->MayBlock(request_)) {
        Answer(impl_->Infer(&context_, request_, &response_));
        return;
      }
      impl_->OnWorker(
          &context_, [this] { return impl_->Infer(&context_, request_, &response_); },
          [this](const ::grpc::Status& status) { Answer(status); });
    }

   private:
    void Answer(const ::grpc::Status& status) {
      const bool started = impl_->WhileQueueOpen([&] {
        if (status.ok()) {
          writer_.Finish(response_, status, this);
        } else {
          writer_.FinishWithError(status, this);
        }
      });
      if (!started) delete this;  // the server is gone; so is the call
    }

    Impl* const impl_;
    ::grpc::ServerCompletionQueue* const cq_;
    ::grpc::ServerContext context_;
    inference::ModelInferRequest request_;
    inference::ModelInferResponse response_;
    ::grpc::ServerAsyncResponseWriter<inference::ModelInferResponse> writer_;
    bool answered_ = false;
  };

  // A thread that serves the completion queue: keeps calls waiting on it for
  // clients to fill, and runs them.
  void Poll(::grpc::ServerCompletionQueue* cq) {
    WhileQueueOpen([&] {
      for (int i = 0; i < kWaitingCallsPerThread; ++i) new InferCall(this, cq);
    });
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) static_cast<InferCall*>(tag)->Proceed(ok);
  }

  std::unique_ptr<serving::Executor> own_executor_;  // destroyed after server_
  serving::Executor* executor_ = nullptr;
  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  int64_t jobs_ = 0;  // calls on the executor; guarded by jobs_mu_
  InferenceRpcs inference_;
  HealthRpcs checks_;
  // One queue that every thread polls: any of them may serve any call, so a
  // ready call does not wait for (and wake) one particular thread. Measured
  // with a queue per thread: 64-row calls took 1.65 context switches each,
  // 0.81 with one shared queue (1 row: 0.73 and 0.61).
  std::unique_ptr<::grpc::ServerCompletionQueue> queue_;
  std::mutex queue_mu_;
  bool queue_closed_ = false;  // guarded by queue_mu_
  std::vector<std::thread> threads_;
  std::unique_ptr<::grpc::Server> server_;
  std::once_flag shutdown_once_;
  int port_ = 0;
};

Status GrpcServer::Impl::Start(std::unique_ptr<serving::Executor> own_executor) {
  own_executor_ = std::move(own_executor);
  executor_ = options_.executor ? options_.executor : own_executor_.get();
  const std::string host = options_.host.find(':') != std::string::npos
                               ? "[" + options_.host + "]"
                               : options_.host;
  const std::string address = host + ":" + std::to_string(options_.port);
  ::grpc::ServerBuilder builder;
  builder.AddListeningPort(address, ::grpc::InsecureServerCredentials(), &port_);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<uint64_t>(options_.max_message_bytes, INT_MAX)));
  // A port in use must fail start-up, not be shared with another process.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(&inference_);
  builder.RegisterService(&checks_);
  const int threads = std::max(1, options_.threads);
  queue_ = builder.AddCompletionQueue();
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    queue_->Shutdown();
    void* tag;
    bool ok;
    while (queue_->Next(&tag, &ok)) {
    }
    return Unavailable("gRPC: cannot listen on " + address);
  }
  // Threads that serve gRPC leave shutdown signals to the thread that waits for them.
  sigset_t signals, old;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, &old);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Poll(queue_.get()); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return Status::Ok();
}

StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Create(const Options& options,
                                                          const serving::InferenceService* service,
                                                          const serving::Health* health) {
  static std::once_flag setup_once;
  std::call_once(setup_once, [] {
    gpr_set_log_function(LogThroughSpdlog);
    // Debian builds abseil with its mutex deadlock detector on: a graph lookup
    // on every lock that libgrpc takes (3% of a 1-row call's CPU), for a check
    // meant for debug builds.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  });
  std::unique_ptr<serving::Executor> own_executor;
  if (options.executor == nullptr) {
    ASSIGN_OR_RETURN(own_executor, serving::Executor::Create({.threads = kOwnExecutorThreads,
                                                              .max_queued = kOwnExecutorQueue}));
  }
  auto impl = std::make_unique<Impl>(options, service, health);
  RETURN_IF_ERROR(impl->Start(std::move(own_executor)));
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcServer::~GrpcServer() { Shutdown(std::chrono::milliseconds(0)); }

int GrpcServer::port() const { return impl_->port(); }

void GrpcServer::Shutdown(std::chrono::milliseconds grace) { impl_->Shutdown(grace); }

}  // namespace inferd::grpcapi
