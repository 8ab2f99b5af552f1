// CSV per RFC 4180: fields separated by commas, records by CRLF (LF accepted), fields that
// hold commas, quotes or line breaks enclosed in double quotes with "" for a quote.
#include "ecgtwin/io/csv.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>

#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/number_text.hpp"

namespace ecgtwin::io {

namespace {

struct ParsedRow {
  std::vector<std::string> fields;
  std::size_t line = 0;  // 1-based line where the row starts
};

// Splits text into rows of fields. Blank lines (no characters at all) are skipped, or, with
// keep_blank_lines, read as one empty field (a NaN in a one-column matrix).
std::vector<ParsedRow> split_rows(const std::string& text, const std::string& source,
                                  bool keep_blank_lines = false) {
  std::vector<ParsedRow> rows;
  std::size_t pos = 0;
  std::size_t line = 1;
  // A UTF-8 byte order mark is not part of the first column's name.
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;
  const std::size_t n = text.size();
  while (pos < n) {
    if (text[pos] == '\n' || (text[pos] == '\r' && pos + 1 < n && text[pos + 1] == '\n')) {
      pos += text[pos] == '\r' ? 2 : 1;
      if (keep_blank_lines) rows.push_back({{std::string()}, line});
      ++line;
      continue;
    }
    ParsedRow row;
    row.line = line;
    while (true) {
      std::string field;
      if (pos < n && text[pos] == '"') {
        std::size_t quote_line = line;
        ++pos;
        while (true) {
          if (pos >= n)
            throw InputError(source, "line " + std::to_string(quote_line) +
                                         ": quoted field is not closed before the end of the file");
          char c = text[pos];
          if (c == '"') {
            if (pos + 1 < n && text[pos + 1] == '"') {
              field.push_back('"');
              pos += 2;
              continue;
            }
            ++pos;
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
          ++pos;
        }
        if (pos < n && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
          throw InputError(source, "line " + std::to_string(line) +
                                       ": unexpected character after a closing quote (field " +
                                       std::to_string(row.fields.size() + 1) + ")");
      } else {
        std::size_t start = pos;
        while (pos < n && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') ++pos;
        field.assign(text, start, pos - start);
      }
      row.fields.push_back(std::move(field));
      if (pos < n && text[pos] == ',') {
        ++pos;
        continue;
      }
      // End of record: LF, CRLF, a lone CR, or the end of the text.
      if (pos < n && text[pos] == '\r') ++pos;
      if (pos < n && text[pos] == '\n') ++pos;
      ++line;
      break;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

bool parse_number(const std::string& field, double* value) {
  std::size_t begin = 0, end = field.size();
  while (begin < end && (field[begin] == ' ' || field[begin] == '\t')) ++begin;
  while (end > begin && (field[end - 1] == ' ' || field[end - 1] == '\t')) --end;
  if (begin == end) {
    *value = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  const char* first = field.data() + begin;
  const char* last = field.data() + end;
  if (*first == '+') ++first;
  auto result = std::from_chars(first, last, *value);
  return result.ec == std::errc() && result.ptr == last;
}

}  // namespace

std::optional<std::size_t> CsvTable::find_column(const std::string& name) const {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return i;
  return std::nullopt;
}

std::size_t CsvTable::column(const std::string& name) const {
  if (auto index = find_column(name)) return *index;
  throw InputError(source, "no column '" + name + "'");
}

CsvTable parse_csv(const std::string& text, const std::string& source) {
  auto rows = split_rows(text, source);
  if (rows.empty()) throw InputError(source, "empty CSV file (expected a header row)");
  CsvTable table;
  table.source = source;
  table.columns = std::move(rows.front().fields);
  table.rows.reserve(rows.size() - 1);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].fields.size() != table.columns.size())
      throw InputError(source, "line " + std::to_string(rows[i].line) + ": " +
                                   std::to_string(rows[i].fields.size()) + " fields, expected " +
                                   std::to_string(table.columns.size()) +
                                   " (the number of header columns)");
    table.rows.push_back(std::move(rows[i].fields));
  }
  return table;
}

CsvTable read_csv(const std::filesystem::path& path) {
  return parse_csv(util::read_file(path), path.string());
}

std::string csv_quote(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

void write_csv(const std::filesystem::path& path, const std::vector<std::string>& columns,
               const std::vector<std::vector<std::string>>& rows) {
  std::string text;
  auto append_row = [&](const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i) text.push_back(',');
      text += csv_quote(fields[i]);
    }
    text.push_back('\n');
  };
  append_row(columns);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != columns.size())
      throw InputError(path.string(), "row " + std::to_string(r) + " has " +
                                          std::to_string(rows[r].size()) + " fields, expected " +
                                          std::to_string(columns.size()));
    append_row(rows[r]);
  }
  util::write_file_atomic(path, text);
}

void write_matrix_csv(std::ostream& out, const double* values, std::int64_t rows,
                      std::int64_t columns) {
  std::string line;
  for (std::int64_t r = 0; r < rows; ++r) {
    line.clear();
    for (std::int64_t c = 0; c < columns; ++c) {
      if (c) line.push_back(',');
      double v = values[r * columns + c];
      if (std::isnan(v)) continue;
      append_number_text(line, v);
    }
    line.push_back('\n');
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
  }
}

std::vector<double> read_matrix_csv(const std::filesystem::path& path, std::int64_t* rows,
                                    std::int64_t* columns, std::vector<std::string>* header) {
  const std::string source = path.string();
  auto parsed = split_rows(util::read_file(path), source, /*keep_blank_lines=*/true);
  std::vector<double> values;
  std::size_t first = 0;
  if (header) header->clear();
  std::size_t width = parsed.empty() ? 0 : parsed.front().fields.size();
  if (!parsed.empty()) {
    double scratch;
    bool numeric = true;
    for (const auto& field : parsed.front().fields) numeric = numeric && parse_number(field, &scratch);
    if (!numeric) {
      if (header) *header = parsed.front().fields;
      first = 1;
    }
  }
  values.reserve((parsed.size() - first) * width);
  for (std::size_t r = first; r < parsed.size(); ++r) {
    const auto& row = parsed[r];
    if (row.fields.size() != width)
      throw InputError(source, "line " + std::to_string(row.line) + ": " +
                                   std::to_string(row.fields.size()) + " fields, expected " +
                                   std::to_string(width));
    for (std::size_t c = 0; c < row.fields.size(); ++c) {
      double v;
      if (!parse_number(row.fields[c], &v))
        throw InputError(source, "line " + std::to_string(row.line) + ", field " +
                                     std::to_string(c + 1) + ": expected a number, found \"" +
                                     row.fields[c] + "\"");
      values.push_back(v);
    }
  }
  if (rows) *rows = static_cast<std::int64_t>(parsed.size() - first);
  if (columns) *columns = static_cast<std::int64_t>(width);
  return values;
}

}  // namespace ecgtwin::io
