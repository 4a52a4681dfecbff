// SearchFilter and ordering: MLflow's registry search grammar, evaluated in
// memory over registered models and model versions.
//
//   filter   := clause (AND clause)*
//   clause   := field op value
//   field    := name | run_id | source_path | version_number | tags.<key> | tags.`<key>`
//   op       := = | != | LIKE | ILIKE        (LIKE: % any run, _ one character)
//   value    := 'text' | "text" | number
//
// Immutable after Parse; safe to share between threads.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "registry/registry.h"

namespace inferd::registry {

class SearchFilter {
 public:
  // InvalidArgument, naming the problem and its position, for a bad filter.
  static StatusOr<SearchFilter> Parse(const std::string& text);

  bool Matches(const RegisteredModel& model) const;
  bool Matches(const ModelVersion& version) const;

 private:
  struct Clause {
    std::string field;  // "name", "run_id", "source_path", "version_number", or "tags.<key>"
    std::string op;     // "=", "!=", "LIKE", "ILIKE"
    std::string value;
  };
  bool Test(const Clause& clause, const std::string* actual) const;

  std::vector<Clause> clauses_;
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

// SQL LIKE: % matches any run, _ one character; case-insensitive when asked.
bool LikeMatch(std::string_view text, std::string_view pattern, bool ignore_case);

}  // namespace inferd::registry
