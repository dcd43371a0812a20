# ORMO_SANITIZE: instruments every ormo target (not CAF, Eigen or the other
# system libraries, which come prebuilt) with
#   address  AddressSanitizer + UndefinedBehaviorSanitizer; UBSan halts at
#            the first report (-fno-sanitize-recover=all);
#   thread   ThreadSanitizer;
#   fuzzer   address + undefined as above plus libFuzzer's coverage
#            instrumentation (clang only); also builds tests/fuzz/. The
#            layer tests link too (ASan's runtime takes the coverage
#            callbacks): CI's one sanitizer tree (tools/test.sh).
# Empty (the default): no sanitizer. Each sanitizer build belongs in its own
# build directory (build-asan/, build-tsan/, build-fuzz/), never build/: the
# flags change every object file.
set(ORMO_SANITIZE "" CACHE STRING
  "Sanitizers for ormo's code: address, thread, fuzzer or empty")
set_property(CACHE ORMO_SANITIZE PROPERTY STRINGS "" address thread fuzzer)

# Line tables for readable reports; frame pointers for fast, full stacks.
set(ormo_sanitize_common -g1 -fno-omit-frame-pointer)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # Clang's line tables name an inlined function without its class or
  # namespace (`operator*`); this flag adds linkage names, so reports and
  # the suppressions (tests/*.supp) see qualified names, as with GCC.
  list(APPEND ormo_sanitize_common -fdebug-info-for-profiling)
endif()
# Only the null check can recover, so that tests/ubsan.supp can silence one
# report inside CAF's headers; ORMO_SANITIZER_ENVIRONMENT (set below, for
# ctest and the scripts) makes UBSan halt at every other report.
set(ormo_sanitize_ub -fsanitize=address,undefined -fno-sanitize-recover=all
  -fsanitize-recover=null)

if(ORMO_SANITIZE STREQUAL "")
  return()
elseif(ORMO_SANITIZE STREQUAL "address")
  set(ormo_sanitize_flags ${ormo_sanitize_ub})
elseif(ORMO_SANITIZE STREQUAL "thread")
  set(ormo_sanitize_flags -fsanitize=thread)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC warns where code meets std::atomic_thread_fence, which TSan does
    # not model (ormo::sole_owner takes another path under TSan): a warning
    # to read, not an error.
    list(APPEND ormo_sanitize_common -Wno-error=tsan)
  endif()
elseif(ORMO_SANITIZE STREQUAL "fuzzer")
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ORMO_SANITIZE=fuzzer needs clang (libFuzzer): "
      "configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Libraries get coverage hooks only; the fuzz targets link libFuzzer's
  # main with -fsanitize=fuzzer (tests/fuzz/CMakeLists.txt).
  set(ormo_sanitize_flags ${ormo_sanitize_ub} -fsanitize=fuzzer-no-link)
else()
  message(FATAL_ERROR "ORMO_SANITIZE must be address, thread, fuzzer or "
    "empty, not '${ORMO_SANITIZE}'")
endif()

if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # With the sanitizers GCC 12 warns of uninitialized values inside its own
  # AVX-512 intrinsics as Eigen inlines them (false positives); the plain
  # build keeps the warning for ormo's code.
  list(APPEND ormo_sanitize_common -Wno-uninitialized)
endif()
add_compile_options(${ormo_sanitize_common} ${ormo_sanitize_flags})
# What a test of an instrumented executable runs with (ctest ENVIRONMENT).
set(ORMO_SANITIZER_ENVIRONMENT "UBSAN_OPTIONS=halt_on_error=1")
string(APPEND ORMO_SANITIZER_ENVIRONMENT ":print_stacktrace=1:suppressions="
  "${CMAKE_CURRENT_SOURCE_DIR}/tests/ubsan.supp")
add_link_options(${ormo_sanitize_flags})
message(STATUS "ormo: sanitizers ${ORMO_SANITIZE} (${ormo_sanitize_flags})")
