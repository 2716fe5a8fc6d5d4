# Writes OUTPUT from INPUT (daemon/version.cpp.in) with VERSION and the git commit SOURCE_DIR was
# built from: 12 hex digits of HEAD, "-dirty" appended when tracked files differ from it;
# "unknown" when SOURCE_DIR is not the top of a git work tree (a release tarball, even one
# unpacked inside some other repository) or git is missing.
#
#   cmake -DSOURCE_DIR=... -DINPUT=... -DOUTPUT=... -DVERSION=... -P version_stamp.cmake
#
# Run at every build (a few milliseconds); configure_file() leaves OUTPUT untouched when its text
# is unchanged, so the build recompiles one small file and relinks only when the commit changes.
foreach(var SOURCE_DIR INPUT OUTPUT VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "version_stamp.cmake: -D${var}=... is required")
  endif()
endforeach()

set(TRIBUTARY_VERSION "${VERSION}")
set(TRIBUTARY_COMMIT unknown)
find_program(git_program git)
if(git_program)
  execute_process(COMMAND "${git_program}" -C "${SOURCE_DIR}" rev-parse --show-toplevel
    OUTPUT_VARIABLE top RESULT_VARIABLE top_rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  file(REAL_PATH "${SOURCE_DIR}" source_real)
  if(top_rc EQUAL 0)
    file(REAL_PATH "${top}" top_real)
  endif()
  if(top_rc EQUAL 0 AND top_real STREQUAL source_real)
    execute_process(COMMAND "${git_program}" -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
      OUTPUT_VARIABLE head RESULT_VARIABLE head_rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(head_rc EQUAL 0 AND head MATCHES "^[0-9a-f]+$")
      set(TRIBUTARY_COMMIT "${head}")
      # --no-optional-locks: never take the index lock (an IDE or a rebase may hold it).
      execute_process(COMMAND "${git_program}" --no-optional-locks -C "${SOURCE_DIR}"
        status --porcelain --untracked-files=no
        OUTPUT_VARIABLE changes RESULT_VARIABLE status_rc ERROR_QUIET)
      if(status_rc EQUAL 0 AND NOT changes STREQUAL "")
        string(APPEND TRIBUTARY_COMMIT "-dirty")
      endif()
    endif()
  endif()
endif()
configure_file("${INPUT}" "${OUTPUT}" @ONLY)
