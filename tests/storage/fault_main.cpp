// The module of storage_fault_tests (fault_test.cpp holds the suites).
#define BOOST_TEST_MODULE storage_faults
#include <boost/test/unit_test.hpp>
