#include "registry/search_filter.h"

#include <cctype>

namespace inferd::registry {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= text_.size();
  }
  size_t pos() const { return pos_; }

  // An identifier, possibly dotted, with `backquoted` parts.
  StatusOr<std::string> Field() {
    SkipSpace();
    std::string out;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '`') {
        size_t end = text_.find('`', pos_ + 1);
        if (end == std::string_view::npos) return Error("unterminated `");
        out.append(text_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
      } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
                 c == '-') {
        out.push_back(c);
        ++pos_;
      } else {
        break;
      }
    }
    if (out.empty()) return Error("expected a field name");
    return out;
  }

  StatusOr<std::string> Operator() {
    SkipSpace();
    for (std::string_view op : {"!=", "=", "ILIKE", "LIKE"}) {
      if (Upper(text_.substr(pos_, op.size())) == op) {
        pos_ += op.size();
        return std::string(op);
      }
    }
    return Error("expected =, !=, LIKE or ILIKE");
  }

  StatusOr<std::string> Value() {
    SkipSpace();
    if (pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"')) {
      char quote = text_[pos_];
      size_t end = text_.find(quote, pos_ + 1);
      if (end == std::string_view::npos) return Error("unterminated string");
      std::string out(text_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
      return out;
    }
    size_t start = pos_;
    while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])))) ++pos_;
    if (start == pos_) return Error("expected a quoted value or a number");
    return std::string(text_.substr(start, pos_ - start));
  }

  bool Keyword(std::string_view word) {
    SkipSpace();
    if (Upper(text_.substr(pos_, word.size())) == word &&
        (pos_ + word.size() >= text_.size() ||
         std::isspace(static_cast<unsigned char>(text_[pos_ + word.size()])))) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  Status Error(std::string_view what) const {
    return InvalidArgument("invalid filter at position " + std::to_string(pos_) + ": " +
                           std::string(what) + " in \"" + std::string(text_) + "\"");
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

int Compare(const std::string& a, const std::string& b) { return a.compare(b); }
int Compare(int64_t a, int64_t b) { return a < b ? -1 : a > b ? 1 : 0; }

}  // namespace

bool LikeMatch(std::string_view text, std::string_view pattern, bool ignore_case) {
  // Iterative wildcard matching with backtracking to the last %.
  size_t t = 0, p = 0, star = std::string_view::npos, mark = 0;
  auto eq = [&](char a, char b) {
    return ignore_case ? std::tolower(static_cast<unsigned char>(a)) ==
                             std::tolower(static_cast<unsigned char>(b))
                       : a == b;
  };
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '_' || eq(pattern[p], text[t]))) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

StatusOr<SearchFilter> SearchFilter::Parse(const std::string& text) {
  SearchFilter filter;
  Lexer lexer(text);
  if (lexer.AtEnd()) return filter;
  while (true) {
    Clause clause;
    ASSIGN_OR_RETURN(clause.field, lexer.Field());
    if (clause.field.starts_with("tag.")) clause.field = "tags." + clause.field.substr(4);
    if (clause.field != "name" && clause.field != "run_id" && clause.field != "source_path" &&
        clause.field != "version_number" && !clause.field.starts_with("tags.")) {
      return lexer.Error("unknown field '" + clause.field + "'");
    }
    ASSIGN_OR_RETURN(clause.op, lexer.Operator());
    ASSIGN_OR_RETURN(clause.value, lexer.Value());
    filter.clauses_.push_back(std::move(clause));
    if (lexer.AtEnd()) break;
    if (!lexer.Keyword("AND")) return lexer.Error("expected AND");
  }
  return filter;
}

bool SearchFilter::Test(const Clause& clause, const std::string* actual) const {
  if (actual == nullptr) return clause.op == "!=";
  if (clause.op == "=") return *actual == clause.value;
  if (clause.op == "!=") return *actual != clause.value;
  return LikeMatch(*actual, clause.value, clause.op == "ILIKE");
}

bool SearchFilter::Matches(const RegisteredModel& model) const {
  for (const Clause& c : clauses_) {
    const std::string* actual = nullptr;
    if (c.field == "name") {
      actual = &model.name;
    } else if (c.field.starts_with("tags.")) {
      auto it = model.tags.find(c.field.substr(5));
      if (it != model.tags.end()) actual = &it->second;
    }
    if (!Test(c, actual)) return false;
  }
  return true;
}

bool SearchFilter::Matches(const ModelVersion& version) const {
  const std::string number = std::to_string(version.version);
  for (const Clause& c : clauses_) {
    const std::string* actual = nullptr;
    if (c.field == "name") {
      actual = &version.name;
    } else if (c.field == "run_id") {
      actual = &version.run_id;
    } else if (c.field == "source_path") {
      actual = &version.source;
    } else if (c.field == "version_number") {
      actual = &number;
    } else if (auto it = version.tags.find(c.field.substr(5)); it != version.tags.end()) {
      actual = &it->second;
    }
    if (!Test(c, actual)) return false;
  }
  return true;
}

StatusOr<std::vector<OrderKey>> ParseOrderBy(const std::vector<std::string>& order_by) {
  std::vector<OrderKey> keys;
  for (const std::string& item : order_by) {
    Lexer lexer(item);
    OrderKey key;
    ASSIGN_OR_RETURN(key.field, lexer.Field());
    if (key.field == "timestamp") key.field = "creation_timestamp";
    if (key.field != "name" && key.field != "version_number" &&
        key.field != "creation_timestamp" && key.field != "last_updated_timestamp") {
      return InvalidArgument("cannot order by '" + key.field + "'");
    }
    if (lexer.Keyword("DESC")) {
      key.ascending = false;
    } else {
      lexer.Keyword("ASC");
    }
    if (!lexer.AtEnd()) return lexer.Error("expected ASC or DESC");
    keys.push_back(std::move(key));
  }
  return keys;
}

namespace {

template <typename T>
int CompareBy(const T& a, const T& b, const std::vector<OrderKey>& order, int64_t version_a,
              int64_t version_b) {
  for (const OrderKey& key : order) {
    int c = 0;
    if (key.field == "name") {
      c = Compare(a.name, b.name);
    } else if (key.field == "version_number") {
      c = Compare(version_a, version_b);
    } else if (key.field == "creation_timestamp") {
      c = Compare(a.creation_timestamp, b.creation_timestamp);
    } else {
      c = Compare(a.last_updated_timestamp, b.last_updated_timestamp);
    }
    if (c != 0) return key.ascending ? c : -c;
  }
  return 0;
}

}  // namespace

int CompareForOrder(const RegisteredModel& a, const RegisteredModel& b,
                    const std::vector<OrderKey>& order) {
  int c = CompareBy(a, b, order, 0, 0);
  return c != 0 ? c : Compare(a.name, b.name);
}

int CompareForOrder(const ModelVersion& a, const ModelVersion& b,
                    const std::vector<OrderKey>& order) {
  int c = CompareBy(a, b, order, a.version, b.version);
  if (c != 0) return c;
  c = Compare(a.name, b.name);
  return c != 0 ? c : Compare(b.version, a.version);
}

}  // namespace inferd::registry
