# Script mode (cmake -P), run after a doctest executable is built: writes
# OUTPUT, a ctest script labelling each test PREFIX<case> with the doctest
# suite of the case (slow, real_time, ...). It replaces doctest 2.4.9's
# ADD_LABELS, which runs the executable once per case (minutes under the
# sanitizers) and loses the label of a case whose name has a comma (its
# --test-case filter splits there). Runs the executable once per suite.
#
# REQUIRES: -D EXECUTABLE=path -D PREFIX=text -D OUTPUT=path
#           -D WORKING_DIRECTORY=path

# run_doctest(var args...): the names doctest lists with args, one per
# element (its banner and rule lines dropped).
function(run_doctest var)
  execute_process(
    COMMAND "${EXECUTABLE}" ${ARGN}
    OUTPUT_VARIABLE output
    RESULT_VARIABLE result
    WORKING_DIRECTORY "${WORKING_DIRECTORY}")
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "'${EXECUTABLE} ${ARGN}' failed (${result}):\n"
      "${output}")
  endif()
  # Brackets in a test name would split a CMake list: keep them as codes.
  string(REPLACE "[" "<LB>" output "${output}")
  string(REPLACE "]" "<RB>" output "${output}")
  string(REPLACE ";" "<SC>" output "${output}")
  string(REPLACE "\n" ";" lines "${output}")
  set(names)
  foreach(line IN LISTS lines)
    if(line STREQUAL "" OR line MATCHES "^<LB>doctest<RB> "
       OR line MATCHES "^=+$")
      continue()
    endif()
    list(APPEND names "${line}")
  endforeach()
  set(${var} "${names}" PARENT_SCOPE)
endfunction()

# unescape(var text): text with the codes of run_doctest turned back.
function(unescape var text)
  string(REPLACE "<LB>" "[" text "${text}")
  string(REPLACE "<RB>" "]" text "${text}")
  string(REPLACE "<SC>" ";" text "${text}")
  set(${var} "${text}" PARENT_SCOPE)
endfunction()

set(script "")
run_doctest(suites --list-test-suites)
foreach(suite IN LISTS suites)
  unescape(suite "${suite}")
  # doctest's filters are wildcards separated by commas.
  string(REPLACE "," "\\," filter "${suite}")
  run_doctest(cases --list-test-cases "--test-suite=${filter}")
  foreach(case IN LISTS cases)
    unescape(case "${case}")
    string(APPEND script "set_tests_properties([==[${PREFIX}${case}]==] "
      "PROPERTIES LABELS [==[${suite}]==])\n")
  endforeach()
endforeach()
file(WRITE "${OUTPUT}" "${script}")
