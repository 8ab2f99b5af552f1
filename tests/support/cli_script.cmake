# The program tests written as CMake scripts (tests/cli/info.cmake, tests/cli/bench.cmake).
# Such a file is included twice over: by tests/CMakeLists.txt, where cli_script_cases() adds
# one test per case, and by each of those tests in script mode (cmake -DCASE=... -P FILE),
# where run_program() runs ecgtwin and the file checks what came back (expect_refused() for
# bad input).

# cli_script_cases(NAME TIMEOUT CASE...): the test cli.NAME_CASE for every CASE, running the
# calling file in script mode with -DCASE=CASE; label cli.
function(cli_script_cases name timeout)
  foreach(_case ${ARGN})
    add_test(NAME cli.${name}_${_case}
             COMMAND ${CMAKE_COMMAND} -DECGTWIN_BIN=${ECGTWIN_BIN} -DCASE=${_case} -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(cli.${name}_${_case} PROPERTIES LABELS "cli" TIMEOUT ${timeout})
  endforeach()
endfunction()

# run_program(COMMAND...): runs it; sets rc, out and err in the caller.
function(run_program)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(rc "${rc}" PARENT_SCOPE)
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

# expect_refused(WHAT [PATTERN]): after run_program(), the program must have refused the input
# (exit 2) and, with PATTERN, named it in its error message; WHAT says which input it was.
function(expect_refused what)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "${what}: expected exit 2, got ${rc}: ${out}${err}")
  endif()
  if(ARGC GREATER 1 AND NOT err MATCHES "${ARGV1}")
    message(FATAL_ERROR "${what}: the error does not name ${ARGV1}: ${err}")
  endif()
endfunction()
