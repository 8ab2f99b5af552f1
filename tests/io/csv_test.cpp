#include "ecgtwin/io/csv.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "test_support.hpp"

namespace ecgtwin::io {
namespace {

using Row = std::vector<std::string>;

TEST(Csv, ParsesRfc4180Quoting) {
  // The examples of RFC 4180 section 2: quoted fields with commas, doubled quotes and a
  // line break, CRLF record ends, no final line break.
  std::string text =
      "id,text,n\r\n"
      "1,\"a, b\",3\r\n"
      "2,\"say \"\"hi\"\"\",4\r\n"
      "3,\"two\r\nlines\",\r\n"
      "4,,\"\"";
  CsvTable table = parse_csv(text, "t.csv");
  EXPECT_EQ(table.columns, Row({"id", "text", "n"}));
  ASSERT_EQ(table.rows.size(), 4u);
  EXPECT_EQ(table.rows[0], Row({"1", "a, b", "3"}));
  EXPECT_EQ(table.rows[1], Row({"2", "say \"hi\"", "4"}));
  EXPECT_EQ(table.rows[2], Row({"3", "two\r\nlines", ""}));
  EXPECT_EQ(table.rows[3], Row({"4", "", ""}));
  EXPECT_EQ(table.column("n"), 2u);
  EXPECT_FALSE(table.find_column("missing").has_value());
}

TEST(Csv, LfEndingsBomAndBlankLines) {
  CsvTable table = parse_csv("\xEF\xBB\xBF" "a,b\n1,2\n\n3,4\n", "t.csv");
  EXPECT_EQ(table.columns, Row({"a", "b"}));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[1], Row({"3", "4"}));
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  EXPECT_TRUE(test::throws_input_error([] { parse_csv("a,b\n1,2\n\"x\ny\",2,3\n", "bad.csv"); },
                                       {"bad.csv", "line 3", "3 fields, expected 2"}));
  EXPECT_THROW(parse_csv("a,b\n\"open,2\n", "t.csv"), InputError);
  EXPECT_THROW(parse_csv("a,b\n\"x\"y,2\n", "t.csv"), InputError);
  EXPECT_THROW(parse_csv("", "t.csv"), InputError);
  CsvTable table = parse_csv("a\n1\n", "t.csv");
  EXPECT_TRUE(test::throws_input_error([&] { table.column("zz"); }, {"t.csv: no column 'zz'"}));
}

TEST(Csv, WriteThenParseRoundTrips) {
  test::TempDir dir;
  Row columns = {"name", "note"};
  std::vector<Row> rows = {{"plain", "a,b"}, {"q\"uote", "line\nbreak"}, {"", " spaced "}};
  write_csv(dir / "t.csv", columns, rows);
  EXPECT_EQ(util::read_file(dir / "t.csv"),
            "name,note\nplain,\"a,b\"\n\"q\"\"uote\",\"line\nbreak\"\n, spaced \n");
  CsvTable table = read_csv(dir / "t.csv");
  EXPECT_EQ(table.columns, columns);
  EXPECT_EQ(table.rows, rows);
  EXPECT_THROW(write_csv(dir / "u.csv", columns, {{"one"}}), InputError);
  EXPECT_FALSE(std::filesystem::exists(dir / "u.csv"));
}

TEST(Csv, MatrixKeepsFullPrecisionAndNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> values = {0.1, 1.0 / 3.0, -2.5e-300, nan, 1e21, -0.0, 123456789.125, 7};
  std::ostringstream out;
  write_matrix_csv(out, values.data(), 4, 2);
  // Shortest round-trip text, NaN as an empty field.
  EXPECT_EQ(out.str(), "0.1,0.3333333333333333\n-2.5e-300,\n1e+21,-0\n123456789.125,7\n");
  test::TempDir dir;
  util::write_file_atomic(dir / "m.csv", out.str());
  std::int64_t rows = 0, columns = 0;
  std::vector<std::string> header;
  auto back = read_matrix_csv(dir / "m.csv", &rows, &columns, &header);
  EXPECT_EQ(rows, 4);
  EXPECT_EQ(columns, 2);
  EXPECT_TRUE(header.empty());
  ASSERT_EQ(back.size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i]))
      EXPECT_TRUE(std::isnan(back[i]));
    else
      EXPECT_EQ(back[i], values[i]) << i;  // bit-exact, not approximately
  }
  EXPECT_TRUE(std::signbit(back[5]));
}

TEST(Csv, MatrixWithHeaderAndOneColumnNaN) {
  test::TempDir dir;
  util::write_file_atomic(dir / "h.csv", "I,\"II\"\r\n1,2\r\n3, 4 \r\n");
  std::int64_t rows = 0, columns = 0;
  std::vector<std::string> header;
  auto values = read_matrix_csv(dir / "h.csv", &rows, &columns, &header);
  EXPECT_EQ(header, Row({"I", "II"}));
  EXPECT_EQ(values, std::vector<double>({1, 2, 3, 4}));
  EXPECT_EQ(rows, 2);

  std::vector<double> column = {1, std::numeric_limits<double>::quiet_NaN(), 2};
  std::ostringstream out;
  write_matrix_csv(out, column.data(), 3, 1);
  util::write_file_atomic(dir / "c.csv", out.str());
  auto back = read_matrix_csv(dir / "c.csv", &rows, &columns, nullptr);
  ASSERT_EQ(rows, 3);
  EXPECT_TRUE(std::isnan(back[1]));
  EXPECT_EQ(back[2], 2.0);

  util::write_file_atomic(dir / "bad.csv", "1,2\n3,x\n");
  EXPECT_TRUE(test::throws_input_error(
      [&] { read_matrix_csv(dir / "bad.csv", &rows, &columns, nullptr); }, {"line 2, field 2"}));
  util::write_file_atomic(dir / "ragged.csv", "1,2\n3\n");
  EXPECT_THROW(read_matrix_csv(dir / "ragged.csv", &rows, &columns, nullptr), InputError);
}

}  // namespace
}  // namespace ecgtwin::io
