// Boost.JSON compiled here, with the fuzzers' instrumentation, instead of linking Debian's
// libboost_json: the JSON-reading targets then see coverage inside the parser too.
#include <boost/json/src.hpp>
