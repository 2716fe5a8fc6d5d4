# Config tests (included from tests/CMakeLists.txt): units, cron, interpolation,
# source maps, whole-file loading, and the data-driven cases in
# tests/config/bad (each NN-name.yaml with its NN-name.expected diagnostics) and
# tests/config/good. TRIBUTARY_TEST_CONFIG_DIR tells the tests where those live;
# without it they look next to their own sources.
add_executable(test_config
  ${CMAKE_CURRENT_LIST_DIR}/../unit/config_cron_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../unit/config_files_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../unit/config_interpolate_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../unit/config_loader_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../unit/config_source_map_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../unit/config_units_test.cpp
)
target_link_libraries(test_config PRIVATE tributary_config tributary_test_support GTest::gtest_main tributary_warnings)
target_compile_definitions(test_config PRIVATE TRIBUTARY_TEST_CONFIG_DIR="${CMAKE_CURRENT_LIST_DIR}")
gtest_discover_tests(test_config DISCOVERY_TIMEOUT 60)
