// tributary: entry point. Hands the command line to daemon::app with the process's streams.

#include <iostream>
#include <string>
#include <vector>

#include "daemon/app.hpp"

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    tributary::daemon::app app(std::cout, std::cerr);
    return app.execute(args);
}
