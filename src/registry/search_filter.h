// MLflow's search grammar, shared by every search inferd serves (registered
// models, model versions, experiments, runs, logged models), and its page
// tokens. Filters are evaluated in memory over the entities a store returns.
//
//   filter     := clause (AND clause)*
//   clause     := identifier op value
//   identifier := [entity '.'] key     e.g. name, metrics.rmse, tags.`mlflow.runName`
//   op         := = | != | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN | IS NULL | IS NOT NULL
//   value      := 'text' | "text" | number | '(' value (',' value)* ')'
//   (LIKE: % any run, _ one character; ILIKE ignores case)
//
// ParseFilter checks the grammar only; each search checks which identifiers
// and operators it accepts (MLflow's per-entity rules) and says which in its
// InvalidArgument. Everything here is immutable after parsing and safe to share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "registry/registry.h"

namespace inferd::registry {

// One `identifier op value` clause as written.
struct FilterClause {
  std::string entity;  // before the identifier's first '.', lower-cased; "" when there is none
  std::string key;     // the rest, with `backquotes` and quotes removed
  std::string
      op;  // upper-cased: =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL
  std::string value;  // the string's text or the number as written; "" for lists and IS [NOT] NULL
  std::vector<std::string> values;  // IN / NOT IN
  bool quoted = false;              // `value` was a quoted string
  size_t position = 0;              // where the clause starts in the filter, for errors
};

// InvalidArgument "invalid filter at position N: <what> in \"<text>\"".
Status FilterError(const std::string& text, size_t position, const std::string& what);

// InvalidArgument ("invalid filter at position N: ...") outside the grammar.
StatusOr<std::vector<FilterClause>> ParseFilter(const std::string& text);

// One order_by item: `identifier [ASC|DESC]`.
struct OrderTerm {
  std::string entity;  // as in FilterClause
  std::string key;
  bool ascending = true;
};
StatusOr<OrderTerm> ParseOrderTerm(const std::string& text);

// SQL LIKE: % matches any run, _ one character; case-insensitive when asked.
bool LikeMatch(std::string_view text, std::string_view pattern, bool ignore_case);

// Whether `actual` satisfies a string clause (=, !=, LIKE, ILIKE, IN, NOT IN).
bool StringClauseHolds(const FilterClause& clause, const std::string& actual);
// Whether `actual` satisfies a numeric clause (=, !=, <, <=, >, >=) against
// `clause.value`; false when the value is not a number (check with ClauseNumber).
bool NumberClauseHolds(const FilterClause& clause, double actual);
// `clause.value` as a number; InvalidArgument naming the clause when it is not one.
StatusOr<double> ClauseNumber(const FilterClause& clause);

// MLflow's page tokens: base64 of {"offset": N}. An empty token is offset 0;
// InvalidArgument for anything that is not such a token.
std::string EncodePageToken(int64_t offset);
StatusOr<int64_t> DecodePageToken(const std::string& token);

// The page of `items` (already filtered and ordered) that `page_token` starts,
// at most `max_results` long, with the next page's token when more remain.
template <typename T>
StatusOr<Page<T>> TakePage(std::vector<T> items, const std::string& page_token,
                           int64_t max_results) {
  ASSIGN_OR_RETURN(int64_t offset, DecodePageToken(page_token));
  Page<T> page;
  const int64_t size = static_cast<int64_t>(items.size());
  for (int64_t i = offset; i < size && i < offset + max_results; ++i) {
    page.items.push_back(std::move(items[i]));
  }
  if (offset + max_results < size) page.next_page_token = EncodePageToken(offset + max_results);
  return page;
}

// OK when 1 <= max_results <= limit; InvalidArgument saying the range otherwise.
Status CheckMaxResults(int64_t max_results, int64_t limit);

// The registry's filter: fields name, run_id, source_path, version_number and
// tags.<key> (tag.<key>), ops =, !=, LIKE, ILIKE.
class SearchFilter {
 public:
  // InvalidArgument, naming the problem and its position, for a bad filter.
  static StatusOr<SearchFilter> Parse(const std::string& text);

  bool Matches(const RegisteredModel& model) const;
  bool Matches(const ModelVersion& version) const;

 private:
  std::vector<FilterClause> clauses_;
};

struct OrderKey {
  std::string field;  // name, version_number, creation_timestamp, last_updated_timestamp
  bool ascending = true;
};

StatusOr<std::vector<OrderKey>> ParseOrderBy(const std::vector<std::string>& order_by);

// <0, 0, >0 as `a` sorts before, with, or after `b`.
int CompareForOrder(const RegisteredModel& a, const RegisteredModel& b,
                    const std::vector<OrderKey>& order);
int CompareForOrder(const ModelVersion& a, const ModelVersion& b,
                    const std::vector<OrderKey>& order);

}  // namespace inferd::registry
