# The training, generation, evaluation and diagnosis commands on a small simulated cohort with tiny
# networks: flags, outputs, exact resume after a kill, and bad input. Cases in pipeline.sh;
# "setup" trains the model the other cases use.
set(_pipeline_out ${CMAKE_CURRENT_BINARY_DIR}/cli_pipeline)
add_test(NAME cli.pipeline_setup
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/pipeline.sh setup ${ECGTWIN_BIN} ${_pipeline_out})
set_tests_properties(cli.pipeline_setup PROPERTIES LABELS "cli" TIMEOUT 600 FIXTURES_SETUP pipeline_model)
foreach(_case kill_resume generate evaluate edit diagnose demo bad_input)
  add_test(NAME cli.pipeline_${_case}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/pipeline.sh ${_case} ${ECGTWIN_BIN} ${_pipeline_out})
  set_tests_properties(cli.pipeline_${_case} PROPERTIES LABELS "cli" TIMEOUT 600
                       FIXTURES_REQUIRED pipeline_model)
endforeach()
