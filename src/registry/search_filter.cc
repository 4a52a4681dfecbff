#include "registry/search_filter.h"

#include <simdjson.h>

#include <cctype>
#include <charconv>
#include <cmath>

#include "common/base64.h"

namespace inferd::registry {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

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

  // An identifier: word characters, dots, dashes and colons, with `quoted`
  // or "quoted" parts; split into entity and key at its first unquoted dot.
  Status Identifier(std::string* entity, std::string* key) {
    SkipSpace();
    std::string out;
    size_t dot = std::string::npos;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '`' || c == '"') {
        size_t end = text_.find(c, pos_ + 1);
        if (end == std::string_view::npos) return Error(std::string("unterminated ") + c);
        out.append(text_.substr(pos_ + 1, end - pos_ - 1));
        pos_ = end + 1;
      } else if (IsWordChar(c) || c == '.' || c == '-' || c == ':') {
        if (c == '.' && dot == std::string::npos) dot = out.size();
        out.push_back(c);
        ++pos_;
      } else {
        break;
      }
    }
    if (out.empty()) return Error("expected a field name");
    if (dot == std::string::npos) {
      entity->clear();
      *key = std::move(out);
    } else {
      *entity = Lower(out.substr(0, dot));
      *key = out.substr(dot + 1);
    }
    return Status::Ok();
  }

  StatusOr<std::string> Operator() {
    SkipSpace();
    for (std::string_view op : {"!=", ">=", "<=", "=", ">", "<"}) {
      if (text_.substr(pos_, op.size()) == op) {
        pos_ += op.size();
        return std::string(op);
      }
    }
    if (Keyword("IS")) {
      if (Keyword("NOT")) {
        if (Keyword("NULL")) return std::string("IS NOT NULL");
      } else if (Keyword("NULL")) {
        return std::string("IS NULL");
      }
      return Error("expected IS NULL or IS NOT NULL");
    }
    if (Keyword("NOT")) {
      if (Keyword("IN")) return std::string("NOT IN");
      return Error("expected NOT IN");
    }
    for (std::string_view op : {"ILIKE", "LIKE", "IN"}) {
      if (Keyword(op)) return std::string(op);
    }
    return Error("expected =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN or IS [NOT] NULL");
  }

  // A quoted string or a number; `quoted` says which.
  StatusOr<std::string> Value(bool* quoted) {
    SkipSpace();
    if (pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"')) {
      char quote = text_[pos_];
      size_t end = text_.find(quote, pos_ + 1);
      if (end == std::string_view::npos) return Error("unterminated string");
      std::string out(text_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end + 1;
      *quoted = true;
      return out;
    }
    *quoted = false;
    size_t start = pos_;
    if (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+')) ++pos_;
    size_t digits = pos_;
    while (pos_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.')) {
      ++pos_;
    }
    if (digits == pos_) {
      pos_ = start;
      return Error("expected a quoted value or a number");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+')) ++pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  // '(' value (',' value)* ')'
  StatusOr<std::vector<std::string>> List() {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != '(') return Error("expected '(' after IN");
    ++pos_;
    std::vector<std::string> out;
    while (true) {
      bool quoted = false;
      ASSIGN_OR_RETURN(std::string v, Value(&quoted));
      out.push_back(std::move(v));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ')') {
        ++pos_;
        return out;
      }
      return Error("expected ',' or ')'");
    }
  }

  bool Keyword(std::string_view word) {
    SkipSpace();
    if (Upper(text_.substr(pos_, word.size())) == word &&
        (pos_ + word.size() >= text_.size() || !IsWordChar(text_[pos_ + word.size()]))) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  Status Error(std::string_view what) const {
    return FilterError(std::string(text_), pos_, std::string(what));
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

int Compare(const std::string& a, const std::string& b) { return a.compare(b); }
int Compare(int64_t a, int64_t b) { return a < b ? -1 : a > b ? 1 : 0; }

}  // namespace

Status FilterError(const std::string& text, size_t position, const std::string& what) {
  return InvalidArgument("invalid filter at position " + std::to_string(position) + ": " + what +
                         " in \"" + text + "\"");
}

StatusOr<std::vector<FilterClause>> ParseFilter(const std::string& text) {
  std::vector<FilterClause> clauses;
  Lexer lexer(text);
  if (lexer.AtEnd()) return clauses;
  while (true) {
    FilterClause clause;
    lexer.SkipSpace();
    clause.position = lexer.pos();
    RETURN_IF_ERROR(lexer.Identifier(&clause.entity, &clause.key));
    ASSIGN_OR_RETURN(clause.op, lexer.Operator());
    if (clause.op == "IN" || clause.op == "NOT IN") {
      ASSIGN_OR_RETURN(clause.values, lexer.List());
      clause.quoted = true;
    } else if (!clause.op.starts_with("IS")) {
      ASSIGN_OR_RETURN(clause.value, lexer.Value(&clause.quoted));
    }
    clauses.push_back(std::move(clause));
    if (lexer.AtEnd()) break;
    if (!lexer.Keyword("AND")) return lexer.Error("expected AND");
  }
  return clauses;
}

StatusOr<OrderTerm> ParseOrderTerm(const std::string& text) {
  Lexer lexer(text);
  OrderTerm term;
  RETURN_IF_ERROR(lexer.Identifier(&term.entity, &term.key));
  if (lexer.Keyword("DESC")) {
    term.ascending = false;
  } else {
    lexer.Keyword("ASC");
  }
  if (!lexer.AtEnd()) return lexer.Error("expected ASC or DESC");
  return term;
}

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

bool StringClauseHolds(const FilterClause& clause, const std::string& actual) {
  const std::string& op = clause.op;
  if (op == "=") return actual == clause.value;
  if (op == "!=") return actual != clause.value;
  if (op == "LIKE" || op == "ILIKE") return LikeMatch(actual, clause.value, op == "ILIKE");
  bool in = false;
  for (const auto& v : clause.values) in = in || v == actual;
  return op == "IN" ? in : op == "NOT IN" ? !in : false;
}

StatusOr<double> ClauseNumber(const FilterClause& clause) {
  double v = 0;
  const char* begin = clause.value.data();
  const char* end = begin + clause.value.size();
  if (!clause.value.empty() && *begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, v);
  if (clause.value.empty() || ec != std::errc() || ptr != end) {
    return InvalidArgument("expected a number for '" + clause.key + "', got '" + clause.value +
                           "'");
  }
  return v;
}

bool NumberClauseHolds(const FilterClause& clause, double actual) {
  auto number = ClauseNumber(clause);
  if (!number.ok()) return false;
  const double expected = *number;
  const std::string& op = clause.op;
  if (op == "=") return actual == expected;
  if (op == "!=") return actual != expected;
  if (op == "<") return actual < expected;
  if (op == "<=") return actual <= expected;
  if (op == ">") return actual > expected;
  if (op == ">=") return actual >= expected;
  return false;
}

std::string EncodePageToken(int64_t offset) {
  return Base64Encode("{\"offset\": " + std::to_string(offset) + "}");
}

StatusOr<int64_t> DecodePageToken(const std::string& token) {
  if (token.empty()) return int64_t{0};
  auto invalid = [&] { return InvalidArgument("invalid page token '" + token + "'"); };
  auto json = Base64Decode(token);
  if (!json) return invalid();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  int64_t offset = -1;
  if (parser.parse(*json).get(doc) != simdjson::SUCCESS ||
      doc["offset"].get(offset) != simdjson::SUCCESS || offset < 0) {
    return invalid();
  }
  return offset;
}

Status CheckMaxResults(int64_t max_results, int64_t limit) {
  if (max_results < 1 || max_results > limit) {
    return InvalidArgument("max_results must be between 1 and " + std::to_string(limit) + ", got " +
                           std::to_string(max_results));
  }
  return Status::Ok();
}

namespace {

// The registry's name for a clause's field: "tags.<key>" or the bare field.
std::string RegistryField(const FilterClause& c) {
  if (c.entity == "tags" || c.entity == "tag") return "tags." + c.key;
  return c.entity.empty() ? c.key : c.entity + "." + c.key;
}

// A registry clause against one field (null when the entity lacks it).
bool RegistryClauseHolds(const FilterClause& c, const std::string* actual) {
  if (actual == nullptr) return c.op == "!=";
  return StringClauseHolds(c, *actual);
}

}  // namespace

StatusOr<SearchFilter> SearchFilter::Parse(const std::string& text) {
  SearchFilter filter;
  ASSIGN_OR_RETURN(filter.clauses_, ParseFilter(text));
  for (const FilterClause& c : filter.clauses_) {
    const std::string field = RegistryField(c);
    if (field != "name" && field != "run_id" && field != "source_path" &&
        field != "version_number" && !field.starts_with("tags.")) {
      return FilterError(text, c.position, "unknown field '" + field + "'");
    }
    if (c.op != "=" && c.op != "!=" && c.op != "LIKE" && c.op != "ILIKE") {
      return FilterError(
          text, c.position,
          "operator " + c.op + " is not supported on '" + field + "' (use =, !=, LIKE or ILIKE)");
    }
  }
  return filter;
}

bool SearchFilter::Matches(const RegisteredModel& model) const {
  for (const FilterClause& c : clauses_) {
    const std::string* actual = nullptr;
    const std::string field = RegistryField(c);
    if (field == "name") {
      actual = &model.name;
    } else if (field.starts_with("tags.")) {
      auto it = model.tags.find(c.key);
      if (it != model.tags.end()) actual = &it->second;
    }
    if (!RegistryClauseHolds(c, actual)) return false;
  }
  return true;
}

bool SearchFilter::Matches(const ModelVersion& version) const {
  const std::string number = std::to_string(version.version);
  for (const FilterClause& c : clauses_) {
    const std::string* actual = nullptr;
    const std::string field = RegistryField(c);
    if (field == "name") {
      actual = &version.name;
    } else if (field == "run_id") {
      actual = &version.run_id;
    } else if (field == "source_path") {
      actual = &version.source;
    } else if (field == "version_number") {
      actual = &number;
    } else if (auto it = version.tags.find(c.key); it != version.tags.end()) {
      actual = &it->second;
    }
    if (!RegistryClauseHolds(c, actual)) return false;
  }
  return true;
}

StatusOr<std::vector<OrderKey>> ParseOrderBy(const std::vector<std::string>& order_by) {
  std::vector<OrderKey> keys;
  for (const std::string& item : order_by) {
    ASSIGN_OR_RETURN(OrderTerm term, ParseOrderTerm(item));
    OrderKey key{term.entity.empty() ? term.key : term.entity + "." + term.key, term.ascending};
    if (key.field == "timestamp") key.field = "creation_timestamp";
    if (key.field != "name" && key.field != "version_number" && key.field != "creation_timestamp" &&
        key.field != "last_updated_timestamp") {
      return InvalidArgument("cannot order by '" + key.field + "'");
    }
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
