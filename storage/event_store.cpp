#include "storage/event_store.hpp"

#include "storage/errc.hpp"
#include "storage/record.hpp"

#include <algorithm>
#include <type_traits>

namespace otaledger::storage {

result<void> event_store::read_page(log_position from, std::size_t max, log_page& page) {
  page.undecoded = false;
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

// Shrinking `events` (resize) then frees nothing and runs no code.
static_assert(std::is_trivially_destructible_v<events::envelope_view>);

result<void> log_page::decode() {
  if (!undecoded) return outcome::success();
  undecoded = false;
  if (spare_.size() >= ends.size()) events.swap(spare_); // events is empty
  events.resize(ends.size());
  std::size_t begin = 0;
  for (std::size_t i = 0; i < ends.size(); ++i) {
    const std::string_view record{bytes.data() + begin, ends[i] - begin};
    begin = ends[i];
    if (auto r = decode_record_at(first + i, record, events[i]); !r) {
      events.resize(i);
      return r;
    }
  }
  return outcome::success();
}

result<void> log_reader::next(std::size_t max, log_page& page, bool decode) {
  if (failed_) {
    page.events.clear();
    set_error_detail(detail_);
    return failed_;
  }
  auto r = read_next(max, page, decode);
  if (!r) {
    failed_ = r.error();
    detail_ = error_detail();
  }
  return r;
}

namespace {

class paged_reader final : public log_reader {
public:
  paged_reader(event_store& store, std::uint64_t from, std::uint64_t until)
      : store_(&store), next_(std::max<std::uint64_t>(from, 1)), last_(until) {}

private:
  result<void> read_next(std::size_t max, log_page& page, bool) override {
    const std::uint64_t n = next_ > last_ ? 0 : std::min<std::uint64_t>(max, last_ - next_ + 1);
    if (n == 0) {
      page.events.clear();
      return outcome::success();
    }
    auto r = store_->read_page(log_position{next_}, static_cast<std::size_t>(n), page);
    next_ += page.events.size();
    return r;
  }

  event_store* store_;
  std::uint64_t next_, last_;
};

} // namespace

std::unique_ptr<log_reader> event_store::read_forward(log_position from, log_position until) {
  return std::make_unique<paged_reader>(*this, from(), std::min(until(), head()()));
}

} // namespace otaledger::storage
