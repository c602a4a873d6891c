#define BOOST_TEST_MODULE ddi
#include <boost/test/unit_test.hpp>
