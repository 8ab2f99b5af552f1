// PTB-XL's tables: quoted fields with commas (scp_codes, noise descriptions) must not shift
// the columns. Reference counts from the files' documentation and Python's csv module.
#include <gtest/gtest.h>

#include <cstdio>

#include "ecgtwin/io/csv.hpp"
#include "test_support.hpp"

namespace ecgtwin::io {
namespace {

TEST(CsvData, PtbxlDatabaseParsesEveryRow) {
  ECGTWIN_REQUIRE_SHARED_DATA("ptbxl-500/ptbxl_database.csv");
  CsvTable table = read_csv(test::shared_data() / "ptbxl-500/ptbxl_database.csv");
  EXPECT_EQ(table.columns.size(), 28u);
  ASSERT_EQ(table.rows.size(), 500u);
  std::size_t id = table.column("ecg_id");
  std::size_t lr = table.column("filename_lr");
  std::size_t scp = table.column("scp_codes");
  std::size_t noise = table.column("static_noise");
  char expected[64];
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    // ecg_id runs 1..500 and the last column names the record of that id: any shift of a
    // column by a quoted comma would break both.
    EXPECT_EQ(table.rows[i][id], std::to_string(i + 1));
    std::snprintf(expected, sizeof(expected), "records100/00000/%05zu_lr", i + 1);
    EXPECT_EQ(table.rows[i][lr], expected);
    EXPECT_EQ(table.rows[i][scp].front(), '{');
    EXPECT_EQ(table.rows[i][scp].back(), '}');
  }
  EXPECT_EQ(table.rows[0][scp], "{'NORM': 100.0, 'LVOLT': 0.0, 'SR': 0.0}");
  EXPECT_EQ(table.rows[0][noise], " , I-V1,  ");
}

TEST(CsvData, ScpStatementsHas71Statements) {
  ECGTWIN_REQUIRE_SHARED_DATA("ptbxl-500/scp_statements.csv");
  CsvTable table = read_csv(test::shared_data() / "ptbxl-500/scp_statements.csv");
  EXPECT_EQ(table.rows.size(), 71u);
  EXPECT_EQ(table.columns.size(), 13u);
  EXPECT_EQ(table.columns[0], "");
  EXPECT_EQ(table.rows[0][table.column("description")], "non-diagnostic T abnormalities");
}

}  // namespace
}  // namespace ecgtwin::io
