// GrpcServer: inferd over gRPC. Serves KServe's V2 inference service
// (`inference.GRPCInferenceService`, with Triton's streaming inference and
// model repository RPCs, grpc/grpc_service.proto) and the standard health
// service (`grpc.health.v1.Health`, Check) that Kubernetes' gRPC probes call.
//
// It is a codec and nothing more: requests are decoded into serving's
// protocol-neutral types and answered by serving::InferenceService (which
// finds the model, predicts, counts the request under protocol "grpc" and
// records it), serving::Health and the service's model repository. Errors are
// gRPC status codes carrying the same messages as REST (grpc/grpc_status.h).
//
// Threading: ModelInfer is served on libgrpc++'s async API by `threads`
// threads that poll one completion queue and answer inline; the other RPCs on
// its callback API. Either way the thread that decodes a request also
// predicts and encodes.
// Work that may wait — an inference that InferenceService::MayBlock flags, and
// the repository index, load and unload (store I/O, model builds) — runs on
// the executor, so it never holds up the inference RPCs of other clients.
// A request whose deadline has passed (or whose client gave up) by the time it
// would run is not run: DEADLINE_EXCEEDED (CANCELLED). Every method of
// GrpcServer is thread-safe.
//
// The namespace is inferd::grpcapi rather than inferd::grpc: inside a
// namespace inferd::grpc every unqualified `grpc::` would name it instead of
// libgrpc++'s ::grpc, in this folder and in every caller within inferd.
// Likewise no file in src/grpc/ may share a name with libgrpc's own
// <grpc/*.h> headers (status.h, slice.h, ...), since src/ is on the include path.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "serving/executor.h"
#include "serving/inference_service.h"

namespace inferd::grpcapi {

class GrpcServer {
 public:
  struct Options {
    std::string host = "0.0.0.0";
    int port = 9001;  // 0 picks a free port; see port()
    // Threads that accept and run inferences; inferd passes --threads.
    // libgrpc++'s own callback threads serve the other RPCs.
    int threads = 2;
    // Largest request message (a larger one gets RESOURCE_EXHAUSTED before it
    // is decoded); inferd passes --max-body-bytes. Capped at 2 GiB - 1.
    uint64_t max_message_bytes = 64ull << 20;
    std::string server_version;  // ServerMetadata's version
    // When set, RepositoryModelLoad/Unload need the metadata
    // `authorization: Bearer <admin_token>` (UNAUTHENTICATED without,
    // PERMISSION_DENIED when wrong), as REST's mutating routes do.
    std::string admin_token;
    // Runs the work that may wait; not owned, must outlive the server. When
    // null the server starts its own (2 threads).
    serving::Executor* executor = nullptr;
  };

  // Binds, listens and starts serving. `service` and `health` are not owned
  // and must outlive the server. Unavailable when the address cannot be bound
  // (a port in use is not shared: SO_REUSEPORT is off).
  static StatusOr<std::unique_ptr<GrpcServer>> Create(const Options& options,
                                                      const serving::InferenceService* service,
                                                      const serving::Health* health);
  // Shuts down at once if Shutdown was not called.
  ~GrpcServer();

  // The bound port (the free one chosen for port 0).
  int port() const;

  // Stops accepting calls, lets in-flight ones finish for up to `grace`, then
  // cancels what is left; returns when every call has ended. The health
  // service answers NOT_SERVING meanwhile (serving::Health says draining).
  // Idempotent; thread-safe.
  void Shutdown(std::chrono::milliseconds grace);

  class Impl;

 private:
  explicit GrpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferd::grpcapi
