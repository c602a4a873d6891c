# Build helpers shared by every folder (Redpanda's v_cc_library, CAF's
# caf_add_component): one library per folder, alias otaledger::<name>,
# C++20 and -Wall -Wextra -Werror on every target.

set(OTALEDGER_COPTS -Wall -Wextra -Werror)

# otaledger_add_library(NAME x SOURCES ... PUBLIC_DEPS ... PRIVATE_DEPS ...)
function(otaledger_add_library)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(otaledger_${ARG_NAME} STATIC ${ARG_SOURCES})
  add_library(otaledger::${ARG_NAME} ALIAS otaledger_${ARG_NAME})
  target_compile_features(otaledger_${ARG_NAME} PUBLIC cxx_std_20)
  target_compile_options(otaledger_${ARG_NAME} PRIVATE ${OTALEDGER_COPTS})
  target_include_directories(otaledger_${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(otaledger_${ARG_NAME} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# otaledger_add_test(NAME x SOURCES ... DEPS ... SUITES a b ... LABELS unit ...)
# One Boost.Test executable per folder; each suite becomes its own CTest test
# (run with --run_test=<suite>) carrying the given labels.
function(otaledger_add_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SOURCES;DEPS;SUITES;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_compile_features(${ARG_NAME} PRIVATE cxx_std_20)
  target_compile_options(${ARG_NAME} PRIVATE ${OTALEDGER_COPTS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} Boost::unit_test_framework)
  target_compile_definitions(${ARG_NAME} PRIVATE BOOST_TEST_DYN_LINK)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  foreach(suite IN LISTS ARG_SUITES)
    add_test(NAME ${ARG_NAME}.${suite} COMMAND ${ARG_NAME} --run_test=${suite} --log_level=message)
    set_tests_properties(${ARG_NAME}.${suite} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  endforeach()
endfunction()
