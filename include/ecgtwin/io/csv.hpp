#pragma once
// CSV: tables with a header row (RFC 4180 quoting) and numeric matrices.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace ecgtwin::io {

struct CsvTable {
  std::string source;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  // Index of a column; InputError naming the file and the column when absent.
  std::size_t column(const std::string& name) const;
  std::optional<std::size_t> find_column(const std::string& name) const;
};

// Parses CSV text whose first row names the columns. Quoted fields may hold commas, quotes
// ("") and newlines. A row with a different number of fields is an InputError (file, line).
CsvTable parse_csv(const std::string& text, const std::string& source);
CsvTable read_csv(const std::filesystem::path& path);

std::string csv_quote(const std::string& field);  // quotes only when needed
// Writes a table atomically.
void write_csv(const std::filesystem::path& path, const std::vector<std::string>& columns,
               const std::vector<std::vector<std::string>>& rows);

// Writes a numeric matrix [rows x columns] with no header row, values at full precision
// (shortest text that reads back to the same double); NaN as an empty field.
void write_matrix_csv(std::ostream& out, const double* values, std::int64_t rows,
                      std::int64_t columns);
// Reads a numeric matrix (no header, or a header row of non-numbers that is skipped).
std::vector<double> read_matrix_csv(const std::filesystem::path& path, std::int64_t* rows,
                                    std::int64_t* columns, std::vector<std::string>* header);

}  // namespace ecgtwin::io
