// Lets BOOST_TEST print otaledger::result<T> values ("ok" or the error's message).
#pragma once

#include "base/result.hpp"

#include <ostream>

namespace BOOST_OUTCOME_V2_NAMESPACE {
template <class T, class NoValuePolicy>
std::ostream& boost_test_print_type(std::ostream& o,
                                    const basic_result<T, std::error_code, NoValuePolicy>& r) {
  if (r) return o << "ok";
  return o << "error: " << r.error().message();
}
} // namespace BOOST_OUTCOME_V2_NAMESPACE

#include "kafka/relay.hpp"

namespace otaledger::kafka {
inline std::ostream& boost_test_print_type(std::ostream& o, relay_state s) {
  return o << to_string(s);
}
} // namespace otaledger::kafka
