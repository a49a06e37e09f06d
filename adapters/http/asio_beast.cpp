// The one translation unit that compiles Asio and Beast (the project defines
// BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION), so
// the other adapter files only parse their headers.

// GCC 12 with -fsanitize reports boost::optional in Beast's basic_parser as
// maybe-uninitialized (a known false positive). Only Boost code is in this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
