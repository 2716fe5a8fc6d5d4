#pragma once
// The completion token every coroutine in tributary passes: errors come back
// as the first tuple element instead of being thrown.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tributary {

inline constexpr auto use_nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

template <class T = void>
using awaitable = boost::asio::awaitable<T>;

}  // namespace tributary
