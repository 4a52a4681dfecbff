// Files compiled into the binary: INFERD_EMBED(symbol, "path") places the
// bytes of a file, read by the assembler at build time, in .rodata between
// `symbol` and `symbol_end` (a NUL follows them). The path is absolute (CMake
// passes it as a compile definition), and CMake's OBJECT_DEPENDS makes the
// embedding object rebuild when the file changes. Used for the API docs and
// the console, so both work offline and in a bare container.
#pragma once

#include <string>

#include "http/message.h"

// Emits `symbol` and `symbol_end` around the bytes of `path` in .rodata.
#define INFERD_EMBED(symbol, path)                                          \
  asm(".section .rodata\n.balign 16\n.global " #symbol "\n" #symbol ":\n" \
      ".incbin \"" path "\"\n.global " #symbol "_end\n" #symbol "_end:\n"  \
      ".byte 0\n.previous\n");                                             \
  extern "C" const char symbol[];                                           \
  extern "C" const char symbol##_end[];

namespace inferd::api {

// A 200 reply carrying an embedded file's bytes.
inline http::Response EmbeddedAsset(const char* begin, const char* end, std::string content_type,
                                    std::string cache_control) {
  http::Response response;
  response.content_type = std::move(content_type);
  response.body.assign(begin, end);
  response.headers.emplace_back("Cache-Control", std::move(cache_control));
  return response;
}

}  // namespace inferd::api
