# ecgtwin simulate: cohort layout, byte-identical reruns, ground-truth twins, and refusal of
# bad input (exit code 2, nothing left behind). The cases live in simulate.sh.
set(_simulate_out ${CMAKE_CURRENT_BINARY_DIR}/cli_simulate)
foreach(_case cohort_layout cohort_deterministic twin bad_input)
  add_test(NAME cli.simulate_${_case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/simulate.sh ${_case} ${ECGTWIN_BIN}
                   ${_simulate_out}/${_case})
  set_tests_properties(cli.simulate_${_case} PROPERTIES LABELS "cli" TIMEOUT 120)
endforeach()
