# ecgtwin convert: malformed records exit 2 with nothing left behind (convert.sh); the
# conformance values through the program are checked by test_io_data.
add_test(NAME cli.convert_bad_records
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/convert.sh ${ECGTWIN_BIN} ${ECGTWIN_SHARED_DATA}
                 ${CMAKE_CURRENT_BINARY_DIR}/cli_convert)
set_tests_properties(cli.convert_bad_records PROPERTIES LABELS "cli;data" TIMEOUT 120)
