// Columnar copies: a CSV file's parsed columns in a binary file that training
// maps into memory instead of parsing text again.
//
// `inferd datasets add` writes one per data file, named by the source file's
// md5 (`<dir>/<md5>.icol`), so a copy is valid for exactly those bytes and is
// shared by every dataset version holding that file. Layout (little-endian):
//
//   "INFDCOL1"                 8 bytes
//   header length H            uint64
//   header                     H bytes of JSON: {"source_md5", "rows",
//                              "columns": [{"name", "type": "f64" | "dict",
//                              "offset", "dictionary": [...]}], "lines": offset
//                              or -1, "first_line"}
//   column data                at its offset, 8-byte aligned: rows float64
//                              (NaN = missing), or rows int32 dictionary codes
//                              (-1 = missing)
//   line numbers               rows int64, only when the rows are not the
//                              consecutive lines after `first_line`
//
// Writes are atomic (a temporary file renamed into place). A ColumnarFile is
// immutable once opened and safe to read from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "train/table.h"

namespace inferd::train {

// `<dir>/<md5>.icol`.
std::string ColumnarPath(const std::string& dir, const std::string& source_md5);

// Writes `table` (parsed from the file whose md5 is `source_md5`) to `path`,
// creating its folder. Unavailable when the file cannot be written.
Status WriteColumnar(const Table& table, const std::string& source_md5, const std::string& path);

class ColumnarFile {
 public:
  // Maps `path`. NotFound when absent; InvalidArgument when it is not a
  // columnar copy or is truncated.
  static StatusOr<std::unique_ptr<ColumnarFile>> Open(const std::string& path);
  ~ColumnarFile();
  ColumnarFile(const ColumnarFile&) = delete;
  ColumnarFile& operator=(const ColumnarFile&) = delete;

  const std::string& source_md5() const { return source_md5_; }
  int64_t rows() const { return rows_; }
  const std::vector<std::string>& column_names() const { return names_; }
  // The values of numeric column `c` (rows of them), or nullptr when the
  // column is categorical.
  const double* numeric(size_t c) const { return numeric_[c]; }
  // The file line of row r, for messages.
  int64_t line(int64_t r) const;
  // Everything back as a Table (categorical cells as their text).
  Table ToTable() const;

 private:
  ColumnarFile() = default;

  void* map_ = nullptr;
  size_t size_ = 0;
  std::string source_md5_;
  int64_t rows_ = 0;
  int64_t first_line_ = 2;
  const int64_t* lines_ = nullptr;
  std::vector<std::string> names_;
  std::vector<const double*> numeric_;                // per column, or nullptr
  std::vector<const int32_t*> codes_;                 // per column, or nullptr
  std::vector<std::vector<std::string>> dictionary_;  // per categorical column
};

}  // namespace inferd::train
