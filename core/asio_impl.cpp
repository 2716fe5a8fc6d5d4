// The one translation unit that compiles Asio, Beast and their SSL parts.
// Every other file sees BOOST_ASIO_SEPARATE_COMPILATION and only declarations,
// which keeps builds on two cores tolerable.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
