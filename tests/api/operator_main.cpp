#define BOOST_TEST_MODULE api_operator
#include <boost/test/unit_test.hpp>
