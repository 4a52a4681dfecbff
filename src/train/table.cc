#include "train/table.h"

#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

namespace inferd::train {
namespace {

// Splits one CSV line into fields. Returns false on an unterminated quote.
bool SplitLine(const std::string& line, std::vector<std::string>* fields) {
  fields->clear();
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields->push_back(std::move(field));
      field.clear();
    } else {
      field.push_back(c);
    }
  }
  fields->push_back(std::move(field));
  return !quoted;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

bool IsMissing(const std::string& cell) {
  return cell.empty() || cell == "NA" || cell == "NaN" || cell == "nan" || cell == "null";
}

bool ParseNumber(const std::string& cell, double* out) {
  char* end = nullptr;
  *out = std::strtod(cell.c_str(), &end);
  return end != cell.c_str() && *end == '\0' && std::isfinite(*out);
}

}  // namespace

const Column* Table::Find(const std::string& name) const {
  for (const auto& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

StatusOr<std::vector<std::string>> ReadCsvHeader(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot open " + path);
  std::string line;
  if (!std::getline(in, line) || Trim(line).empty()) {
    return InvalidArgument(path + " is empty: expected a header line naming the columns");
  }
  std::vector<std::string> fields;
  if (!SplitLine(line, &fields)) return InvalidArgument(path + " line 1: unterminated quote");
  for (auto& f : fields) f = Trim(f);
  return fields;
}

StatusOr<Table> ReadCsv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot open " + path);
  return ReadCsv(in, path);
}

StatusOr<Table> ReadCsv(std::istream& in, const std::string& path) {
  std::string line;
  if (!std::getline(in, line) || Trim(line).empty()) {
    return InvalidArgument(path + " is empty: expected a header line naming the columns");
  }
  std::vector<std::string> fields;
  if (!SplitLine(line, &fields)) return InvalidArgument(path + " line 1: unterminated quote");
  Table table;
  std::set<std::string> seen;
  for (auto& f : fields) {
    std::string name = Trim(f);
    if (name.empty()) return InvalidArgument(path + " line 1: a column has no name");
    if (!seen.insert(name).second) {
      return InvalidArgument(path + " line 1: column '" + name + "' appears twice");
    }
    table.columns.push_back({name, true, {}, {}});
  }
  std::vector<std::vector<std::string>> cells(table.columns.size());
  int64_t line_number = 1;
  while (std::getline(in, line)) {
    ++line_number;
    if (Trim(line).empty()) continue;
    if (!SplitLine(line, &fields)) {
      return InvalidArgument(path + " line " + std::to_string(line_number) +
                             ": unterminated quote");
    }
    if (fields.size() != table.columns.size()) {
      return InvalidArgument(path + " line " + std::to_string(line_number) + ": " +
                             std::to_string(fields.size()) + " fields, the header has " +
                             std::to_string(table.columns.size()));
    }
    for (size_t c = 0; c < fields.size(); ++c) cells[c].push_back(Trim(fields[c]));
    table.lines.push_back(line_number);
    ++table.rows;
  }
  if (table.rows == 0) return InvalidArgument(path + " has a header but no rows");
  for (size_t c = 0; c < table.columns.size(); ++c) {
    Column& column = table.columns[c];
    column.values.reserve(table.rows);
    for (const std::string& cell : cells[c]) {
      double v = std::numeric_limits<double>::quiet_NaN();
      if (!IsMissing(cell) && !ParseNumber(cell, &v)) {
        column.numeric = false;
        break;
      }
      column.values.push_back(v);
    }
    if (!column.numeric) {
      column.values.clear();
      column.strings = std::move(cells[c]);
      for (auto& s : column.strings) {
        if (IsMissing(s)) s.clear();
      }
    }
  }
  return table;
}

StatusOr<Table> ReadCsvPath(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return ReadCsv(path);
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".csv") {
      files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) return InvalidArgument("folder " + path + " holds no .csv file");
  ASSIGN_OR_RETURN(Table table, ReadCsv(files[0]));
  for (size_t f = 1; f < files.size(); ++f) {
    ASSIGN_OR_RETURN(Table more, ReadCsv(files[f]));
    if (more.columns.size() != table.columns.size()) {
      return InvalidArgument(files[f] + " has other columns than " + files[0]);
    }
    for (size_t c = 0; c < table.columns.size(); ++c) {
      Column& into = table.columns[c];
      Column& from = more.columns[c];
      if (into.name != from.name) {
        return InvalidArgument(files[f] + " has other columns than " + files[0]);
      }
      if (into.numeric && !from.numeric) {  // the merged column becomes categorical
        into.strings.reserve(into.values.size());
        for (double v : into.values) into.strings.push_back(std::isnan(v) ? "" : std::to_string(v));
        into.values.clear();
        into.numeric = false;
      }
      if (into.numeric) {
        into.values.insert(into.values.end(), from.values.begin(), from.values.end());
      } else if (from.numeric) {
        for (double v : from.values) into.strings.push_back(std::isnan(v) ? "" : std::to_string(v));
      } else {
        into.strings.insert(into.strings.end(), from.strings.begin(), from.strings.end());
      }
    }
    for (int64_t line : more.lines) table.lines.push_back(line);
    table.rows += more.rows;
  }
  return table;
}

}  // namespace inferd::train
