#define BOOST_TEST_MODULE channel
#include <boost/test/unit_test.hpp>
