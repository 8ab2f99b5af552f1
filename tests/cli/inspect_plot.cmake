# ecgtwin inspect and ecgtwin plot on a PTB-XL record, and their refusal of bad input
# (exit code 2, no output file left behind). The cases live in inspect_plot.sh.
set(_inspect_plot_out ${CMAKE_CURRENT_BINARY_DIR}/cli_inspect_plot)
foreach(_case inspect_json inspect_text inspect_heart_rate inspect_partial_failure plot_formats
              plot_bad_input)
  add_test(NAME cli.${_case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/inspect_plot.sh ${_case} ${ECGTWIN_BIN}
                   ${ECGTWIN_SHARED_DATA} ${_inspect_plot_out}/${_case})
  set_tests_properties(cli.${_case} PROPERTIES LABELS "cli;data" TIMEOUT 120)
endforeach()
