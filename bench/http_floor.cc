// The transport's floor: inferd's HTTP server (http::Server, epoll + Beast's parser) answering
// every request with a fixed V2 reply, no parsing, no model. bench/load.py runs it
// beside nginx's static reply to show how much of inferd's time is the transport.
//   build/http_floor PORT THREADS
#include <cstdlib>
#include <cstdio>

#include "http/server.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: http_floor PORT THREADS\n");
    return 2;
  }
  inferd::http::Server::Options options;
  options.host = "127.0.0.1";
  options.port = static_cast<uint16_t>(std::atoi(argv[1]));
  options.threads = std::atoi(argv[2]);
  static const std::string kReply =
      R"({"model_name":"breast_cancer","model_version":"1","outputs":[{"name":"output__0",)"
      R"("datatype":"FP32","shape":[1],"data":[0.00834]}]})";
  auto server = inferd::http::Server::Create(
      options, [](inferd::http::Request&,
                  inferd::http::Responder&) -> std::optional<inferd::http::Response> {
    inferd::http::Response response;
    response.status = 200;
    response.body = kReply;
    return response;
  });
  if (!server.ok()) {
    std::fprintf(stderr, "http_floor: %s\n", server.status().ToString().c_str());
    return 1;
  }
  std::printf("listening on 127.0.0.1:%u\n", (*server)->port());
  std::fflush(stdout);
  (*server)->Run();
}
