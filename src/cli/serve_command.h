// `inferd serve`: builds the server from its options — store, registry, model
// source and repository, prediction log, metrics, drift and live performance,
// the HTTP servers — runs it until SIGTERM/SIGINT, and drains it.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "http/server.h"
#include "monitor/drift.h"
#include "monitor/live_performance.h"
#include "monitor/prediction_log.h"
#include "monitor/prediction_retention.h"
#include "serving/executor.h"

namespace inferd::cli {

// Every serve flag; main.cc binds them to the command line and the environment.
struct ServeFlags {
  http::Server::Options server;
  std::string model_repository;
  int64_t poll_interval_ms = 10'000;
  uint16_t metrics_port = 0;
  monitor::PredictionLog::Options prediction_log;
  std::string prediction_retention = "0";  // a duration (common/time_text.h); "0": any age
  int64_t prediction_max_bytes = 0;        // 0: no size bound
  std::string spool_dir = "./inferd-data/spool";
  int64_t max_batch_size = 4096;
  int64_t idle_timeout_ms = 60'000;
  int64_t read_timeout_ms = 30'000;
  int64_t shutdown_grace_ms = 20'000;
  int64_t max_queue_ms = 500;
  std::string log_level = "info";
  double access_log_sample_rate = 1;
  monitor::DriftOptions drift;
  monitor::LivePerformance::Options performance;
  serving::Executor::Options workers;
  int grpc_port = 9001;  // KServe V2 gRPC; 0: any free port; -1: off
};


// Serves until a shutdown signal; returns the process exit code (0 after a
// clean drain, 1 with one line on stderr when start-up fails).
int RunServe(ServeFlags& flags, const std::string& store_uri);

// Prints "inferd: <message>" on stderr and returns exit code 1.
int Fail(const Status& status);

}  // namespace inferd::cli
