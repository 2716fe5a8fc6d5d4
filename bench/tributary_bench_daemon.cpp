// tributary_bench_daemon: the tributary binary plus the test kit's HTTP users connector
// (tests/kit/http_users_connector.hpp), for bench/quota_latency.sh and its ctest. The same
// command line and daemon entry point as daemon/main.cpp; only the connector list differs.

#include <iostream>
#include <string>
#include <vector>

#include "daemon/app.hpp"
#include "daemon/connector_registry.hpp"
#include "tests/kit/http_users_connector.hpp"

int main(int argc, char** argv) {
    tributary::daemon::add_connectors([](tributary::storage_thread*) {
        return std::vector<tributary::connectors::registration>{tributary::kit::http_users_registration()};
    });
    std::vector<std::string> args(argv + 1, argv + argc);
    tributary::daemon::app app(std::cout, std::cerr);
    return app.execute(args);
}
