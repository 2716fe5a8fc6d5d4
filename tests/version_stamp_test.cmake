# Test of cmake/version_stamp.cmake (the commit in `tributary --version`):
#   cmake -DSOURCE_ROOT=<the source tree> -DCASE=outside_git|in_git -P version_stamp_test.cmake
# outside_git: a directory that is not the top of a git work tree gets "unknown", even when some
#   repository encloses it (the test's directory lives in the build tree, often inside the
#   source's own work tree).
# in_git: the source tree, when it is a git work tree, gets its HEAD (12 hex digits).
foreach(var SOURCE_ROOT CASE WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "-D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/tree")
if(CASE STREQUAL "outside_git")
  set(stamped "${WORK_DIR}/tree")
else()
  set(stamped "${SOURCE_ROOT}")
endif()
execute_process(
  COMMAND "${CMAKE_COMMAND}" "-DSOURCE_DIR=${stamped}" "-DINPUT=${SOURCE_ROOT}/daemon/version.cpp.in"
    "-DOUTPUT=${WORK_DIR}/version.cpp" -DVERSION=9.8.7 -P "${SOURCE_ROOT}/cmake/version_stamp.cmake"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "version_stamp.cmake failed: ${rc}")
endif()
file(READ "${WORK_DIR}/version.cpp" text)
if(NOT text MATCHES "return \"9\\.8\\.7\";")
  message(FATAL_ERROR "the version is not in version.cpp:\n${text}")
endif()

if(CASE STREQUAL "outside_git")
  if(NOT text MATCHES "return \"unknown\";")
    message(FATAL_ERROR "outside git the commit must be unknown:\n${text}")
  endif()
else()
  find_program(git_program git)
  if(git_program)
    execute_process(COMMAND "${git_program}" -C "${SOURCE_ROOT}" rev-parse --short=12 HEAD
      OUTPUT_VARIABLE head RESULT_VARIABLE head_rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  endif()
  if(NOT git_program OR NOT head_rc EQUAL 0)
    message(STATUS "the source tree is not a git work tree: nothing to compare")
  elseif(NOT text MATCHES "return \"${head}(-dirty)?\";")
    message(FATAL_ERROR "expected commit ${head}:\n${text}")
  endif()
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
