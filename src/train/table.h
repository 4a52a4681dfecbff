// Table: a CSV file read into columns, the input of dataset profiling and
// training.
//
// The first line names the columns. A column is numeric when every non-empty
// cell parses as a number; otherwise it is categorical. Empty cells (and NA,
// NaN, null) are missing. Errors name the line and column. Plain values.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "common/status.h"

namespace inferd::train {

struct Column {
  std::string name;
  bool numeric = true;
  std::vector<double> values;        // numeric columns; NaN = missing
  std::vector<std::string> strings;  // categorical columns; "" = missing
};

struct Table {
  std::vector<Column> columns;
  int64_t rows = 0;
  std::vector<int64_t> lines;  // the file line of each row, for messages

  // The column named `name`, or nullptr.
  const Column* Find(const std::string& name) const;
};

// Reads a comma-separated file with a header line; fields may be quoted with
// "..." (doubled quotes escape). InvalidArgument for an empty file, a row with
// the wrong number of fields, or duplicate column names (with line numbers).
StatusOr<Table> ReadCsv(const std::string& path);
// The same for CSV text from `in`; messages name it `name`.
StatusOr<Table> ReadCsv(std::istream& in, const std::string& name);

// The column names on the first line of a CSV file. InvalidArgument as ReadCsv.
StatusOr<std::vector<std::string>> ReadCsvHeader(const std::string& path);

// ReadCsv for a file; for a folder (a DVC-tracked directory), every *.csv file
// in it, recursively, in path order, as one table (all must share the header;
// line numbers in messages then count from the first file's start).
StatusOr<Table> ReadCsvPath(const std::string& path);

}  // namespace inferd::train
