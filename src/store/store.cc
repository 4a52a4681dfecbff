#include "store/store.h"

#include <cctype>
#include <cstdlib>

#include "store/mongo_store.h"
#include "store/sqlite_store.h"

namespace inferd::store {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Percent-encodes a URI user-info component (RFC 3986 unreserved kept).
std::string EncodeUserInfo(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace

Status CheckCollection(std::string_view collection) {
  for (std::string_view known : kCollections) {
    if (known == collection) return Status::Ok();
  }
  return InvalidArgument("unknown collection '" + std::string(collection) + "'");
}

StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& uri) {
  constexpr std::string_view kSqlite = "sqlite:///";
  if (uri.starts_with(kSqlite)) {
    std::string path = uri.substr(kSqlite.size());
    if (path.empty()) return InvalidArgument("store URI '" + uri + "' names no file");
    ASSIGN_OR_RETURN(auto store, SqliteStore::Open(path));
    return std::unique_ptr<Store>(std::move(store));
  }
  if (uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://")) {
    auto store = MongoStore::Open(uri);
    if (!store.ok()) {
      return Status(store.status().code(),
                    store.status().message() + " (store " + RedactUri(uri) + ")");
    }
    return std::unique_ptr<Store>(std::move(store).value());
  }
  return InvalidArgument("store URI '" + RedactUri(uri) +
                         "' must start with sqlite:/// or mongodb://");
}

std::string StoreUriFromEnv(const std::string& fallback) {
  if (std::string uri = Env("INFERD_STORE"); !uri.empty()) return uri;
  std::string host = Env("MONGO_URL");
  if (host.empty()) return fallback;
  if (host.starts_with("mongodb://")) host = host.substr(std::string_view("mongodb://").size());
  while (!host.empty() && host.back() == '/') host.pop_back();
  std::string user = Env("MONGO_USERNAME"), password = Env("MONGO_PASSWORD");
  std::string database = Env("MONGO_DB").empty() ? "inferd" : Env("MONGO_DB");
  std::string credentials;
  if (!user.empty()) credentials = EncodeUserInfo(user) + ":" + EncodeUserInfo(password) + "@";
  return "mongodb://" + credentials + host + "/" + database +
         (user.empty() ? "" : "?authSource=admin");
}

std::string RedactUri(std::string_view uri) {
  size_t scheme = uri.find("://");
  if (scheme == std::string_view::npos) return std::string(uri);
  size_t at = uri.find('@', scheme + 3);
  size_t slash = uri.find('/', scheme + 3);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(uri);
  }
  size_t colon = uri.find(':', scheme + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(uri);
  return std::string(uri.substr(0, colon + 1)) + "***" + std::string(uri.substr(at));
}

}  // namespace inferd::store
