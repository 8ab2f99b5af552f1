# ecgtwin prepare on PTB-XL (ptbxl-500 at 500 Hz) and on a simulated cohort, and its refusal
# of bad input (exit code 2, nothing left in --out). The cases live in prepare.sh.
set(_prepare_out ${CMAKE_CURRENT_BINARY_DIR}/cli_prepare)
foreach(_case ptbxl simulated bad_input)
  add_test(NAME cli.prepare_${_case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/prepare.sh ${_case} ${ECGTWIN_BIN}
                   ${ECGTWIN_SHARED_DATA} ${_prepare_out}/${_case})
  if(_case STREQUAL "ptbxl")
    set_tests_properties(cli.prepare_${_case} PROPERTIES LABELS "cli;data" TIMEOUT 300)
  else()
    set_tests_properties(cli.prepare_${_case} PROPERTIES LABELS "cli" TIMEOUT 120)
  endif()
endforeach()
