#include "storage/event_store.hpp"

namespace otaledger::storage {

result<void> event_store::read_page(log_position from, std::size_t max, log_page& page) {
  page.events.clear();
  page.bytes.clear();
  page.ends.clear();
  auto r = read_all(from, max);
  if (!r) {
    page.owned.clear();
    return r.error();
  }
  page.owned = std::move(r).value();
  page.events.assign(page.owned.begin(), page.owned.end());
  return outcome::success();
}

} // namespace otaledger::storage
