# Config tests (included from tests/CMakeLists.txt): units, cron, interpolation,
# source maps, whole-file loading, and the data-driven cases in
# tests/config/bad (each NN-name.yaml with its NN-name.expected diagnostics) and
# tests/config/good. TRIBUTARY_TEST_CONFIG_DIR tells the tests where those live;
# without it they look next to their own sources.
# The unit tests (cron, units, source maps) are in test_config (tests/CMakeLists.txt); these read
# and write files.
tributary_test(test_config_files integration
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/../integration/config/files_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/../integration/config/interpolate_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/../integration/config/loader_test.cpp
  LIBS tributary_config tributary_test_support)
target_compile_definitions(test_config_files PRIVATE TRIBUTARY_TEST_CONFIG_DIR="${CMAKE_CURRENT_LIST_DIR}")
