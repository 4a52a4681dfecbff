// inferd: flags, wiring and signals. Nothing else lives here.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "api/service.h"
#include "http/server.h"
#include "model/repository.h"

namespace {

struct ServeFlags {
  inferd::http::Server::Options server;
  std::string model_repository = "./models";
  int64_t max_batch_size = 4096;
  int64_t idle_timeout_ms = 60'000;
  int64_t read_timeout_ms = 30'000;
  int64_t shutdown_grace_ms = 20'000;
  std::string log_level = "info";
};

void AddServeFlags(CLI::App* serve, ServeFlags* f) {
  f->server.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  serve->add_option("--host", f->server.host, "Address to listen on")
      ->envname("INFERD_HOST")->capture_default_str();
  serve->add_option("--port", f->server.port, "Port to listen on (0: any free port)")
      ->envname("INFERD_PORT")->capture_default_str();
  serve->add_option("--model-repository", f->model_repository,
                    "Folder of <model>/<version>/model.json (Triton layout)")
      ->envname("INFERD_MODEL_REPOSITORY")->capture_default_str();
  serve->add_option("--threads", f->server.threads, "I/O and inference threads (default: cores)")
      ->envname("INFERD_THREADS")->check(CLI::Range(1, 1024))->capture_default_str();
  serve->add_option("--max-body-bytes", f->server.limits.max_body_bytes,
                    "Largest request body; larger ones get 413 before being read")
      ->envname("INFERD_MAX_BODY_BYTES")->check(CLI::Range(uint64_t{1}, uint64_t{1} << 34))
      ->capture_default_str();
  serve->add_option("--max-header-bytes", f->server.limits.max_header_bytes,
                    "Largest request line + headers; larger ones get 431")
      ->envname("INFERD_MAX_HEADER_BYTES")->check(CLI::Range(1024u, 1u << 20))
      ->capture_default_str();
  serve->add_option("--max-connections", f->server.limits.max_connections,
                    "Open connections; further ones get 503 and are closed")
      ->envname("INFERD_MAX_CONNECTIONS")->check(CLI::Range(1u, 1u << 20))->capture_default_str();
  serve->add_option("--max-batch-size", f->max_batch_size,
                    "Rows per inference request unless a model's config.json says otherwise")
      ->envname("INFERD_MAX_BATCH_SIZE")->check(CLI::Range(int64_t{1}, int64_t{1} << 24))
      ->capture_default_str();
  serve->add_option("--idle-timeout-ms", f->idle_timeout_ms,
                    "Close a connection that sends no complete request headers for this long")
      ->envname("INFERD_IDLE_TIMEOUT_MS")->check(CLI::Range(int64_t{1}, int64_t{86'400'000}))
      ->capture_default_str();
  serve->add_option("--read-timeout-ms", f->read_timeout_ms,
                    "Time for a request body to arrive, and for a reply to be taken")
      ->envname("INFERD_READ_TIMEOUT_MS")->check(CLI::Range(int64_t{1}, int64_t{86'400'000}))
      ->capture_default_str();
  serve->add_option("--shutdown-grace-ms", f->shutdown_grace_ms,
                    "On SIGTERM, how long in-flight requests may take before exit")
      ->envname("INFERD_SHUTDOWN_GRACE_MS")->check(CLI::Range(int64_t{0}, int64_t{3'600'000}))
      ->capture_default_str();
  serve->add_option("--log-level", f->log_level, "trace, debug, info, warn, error")
      ->envname("INFERD_LOG_LEVEL")->capture_default_str();
}

// Blocks SIGTERM and SIGINT in this and every later thread, so that only the
// waiter thread (sigwait) sees them.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int Serve(ServeFlags& f) {
  spdlog::set_level(spdlog::level::from_str(f.log_level));
  f.server.limits.idle_timeout = std::chrono::milliseconds(f.idle_timeout_ms);
  f.server.limits.read_timeout = std::chrono::milliseconds(f.read_timeout_ms);
  const sigset_t signals = BlockShutdownSignals();

  auto models = inferd::model::ModelRepository::Create(
      {.root = f.model_repository, .default_max_batch_size = f.max_batch_size});
  inferd::api::Health health;
  inferd::api::Service service(
      {.models = models.get(), .health = &health, .server_version = INFERD_VERSION});
  auto server = inferd::http::Server::Create(
      f.server, [&service](inferd::http::Request& request) { return service.Handle(request); });
  if (!server.ok()) {
    std::fprintf(stderr, "inferd: %s\n", server.status().message().c_str());
    return 1;
  }
  if (auto st = models->LoadAll(); !st.ok()) {
    std::fprintf(stderr, "inferd: %s\n", st.message().c_str());
    return 1;
  }
  health.SetLoaded();
  for (const auto& entry : models->Index()) {
    spdlog::info("model {} version {} {}", entry.name, entry.version, entry.state);
  }

  std::thread waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    spdlog::info("received {}, draining (grace {} ms)", strsignal(signal), f.shutdown_grace_ms);
    health.SetDraining();
    (*server)->Shutdown(std::chrono::milliseconds(f.shutdown_grace_ms));
  });
  spdlog::info("inferd {} listening on {}:{} with {} threads", INFERD_VERSION, f.server.host,
               (*server)->port(), f.server.threads);
  (*server)->Run();
  waiter.join();
  spdlog::info("inferd stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"inferd: serve, register, train and monitor XGBoost models"};
  app.set_version_flag("--version", INFERD_VERSION);
  app.require_subcommand(1);
  ServeFlags serve_flags;
  CLI::App* serve = app.add_subcommand("serve", "Serve models over KServe V2 / V1 HTTP");
  AddServeFlags(serve, &serve_flags);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  if (serve->parsed()) return Serve(serve_flags);
  return 0;
}
