#define BOOST_TEST_MODULE storage_faults
#include <boost/test/unit_test.hpp>
