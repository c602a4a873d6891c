#include "kafka/views.hpp"

#include "kafka/consumer.hpp"
#include "kafka/errc.hpp"
#include "projections/views.hpp"
#include "storage/errc.hpp"
#include "storage/open.hpp"

#include <fmt/format.h>

#include <utility>
#include <vector>

namespace otaledger::kafka {
namespace {

using clock = std::chrono::steady_clock;

thread_local std::string last_detail;

std::error_code fail(std::error_code ec, std::string detail) {
  last_detail = std::move(detail);
  return ec;
}

} // namespace

const std::string& views_error_detail() {
  return last_detail;
}

result<std::map<std::string, projections::view_digest>> view_digests(storage::kv_store& kv) {
  std::map<std::string, projections::view_digest> out;
  for (auto name : projections::view_names()) {
    auto space = projections::live_space(kv, name);
    if (!space)
      return fail(space.error(), fmt::format("view {}: cannot find its live space: {}", name,
                                             space.error().message()));
    auto d = projections::digest_space(kv, space.value());
    if (!d)
      return fail(d.error(), fmt::format("view {}: digest of space {}: {}", name, space.value(),
                                         d.error().message()));
    out.emplace(std::string{name}, std::move(d).value());
  }
  return out;
}

result<views_report> build_views_from_topic(const views_options& o) {
  last_detail.clear();
  if (o.dir.empty())
    return fail(make_error_code(errc::invalid_options), "views: no directory given");
  if (o.batch_events == 0)
    return fail(make_error_code(errc::invalid_options), "views: batch_events must be > 0");
  consumer_options co = o.consumer;
  co.group_id.clear();       // every partition, nothing committed
  co.from_beginning = true;  // the views' checkpoints say what to skip
  co.dedupe = false;         // exact deduplication below, by position
  if (auto why = validate(co); !why.empty())
    return fail(make_error_code(errc::invalid_options), "views: " + why);

  storage::options so;
  so.path = o.dir.string();
  auto db = storage::open_database(so);
  if (!db)
    return fail(db.error(), fmt::format("cannot open the views directory {}: {} ({})", so.path,
                                        db.error().message(), storage::error_detail()));
  if (auto head = db.value().events->head()(); head != 0)
    return fail(make_error_code(errc::invalid_options),
                fmt::format("{} holds an event log (head {}): it is a server's data directory, "
                            "not a views directory; give a new or empty directory",
                            so.path, head));
  storage::kv_store& kv = *db.value().views;
  projections::projector pj{*db.value().events, kv, projections::make_all_views()};
  if (auto r = pj.open(); !r)
    return fail(r.error(), fmt::format("cannot open the views in {}: {}", so.path,
                                       projections::error_detail()));

  views_report rep;
  rep.started_at = pj.position();
  std::uint64_t next = rep.started_at() + 1; // the first position the views lack
  std::map<std::uint64_t, events::envelope> held;
  std::vector<events::envelope> page;
  page.reserve(std::min<std::size_t>(o.batch_events, 65536));

  auto consumer = event_consumer::create(co);
  if (!consumer)
    return fail(consumer.error(),
                fmt::format("cannot create the Kafka consumer for topic {} on {}: {}",
                            co.client.topic, co.client.brokers, consumer.error().message()));
  auto& c = *consumer.value();

  auto flush = [&]() -> result<void> {
    if (page.empty()) return ok();
    if (auto r = pj.apply(page); !r)
      return fail(r.error(), fmt::format("folding positions {}..{} into {}: {}",
                                         page.front().position(), page.back().position(), so.path,
                                         projections::error_detail()));
    rep.folded += page.size();
    page.clear();
    return ok();
  };

  std::string stop_reason;
  event_handler on_event = [&](const consumed_event& ev) -> result<void> {
    ++rep.records;
    const std::uint64_t pos = ev.envelope.position();
    if (pos < next) { // folded already (here, or by an earlier build)
      ++rep.duplicates;
      return ok();
    }
    if (pos > next) {
      auto [it, fresh] = held.try_emplace(pos, ev.envelope);
      if (!fresh) {
        if (it->second.id != ev.envelope.id)
          return fail(make_error_code(errc::malformed_record),
                      fmt::format("two different events at position {} (ids {} and {}): "
                                  "topic {} holds more than one log",
                                  pos, it->second.id.to_string(), ev.envelope.id.to_string(),
                                  co.client.topic));
        ++rep.duplicates;
        return ok();
      }
      rep.most_held = std::max(rep.most_held, held.size());
      if (held.size() > o.max_held)
        return fail(make_error_code(errc::missing_position),
                    fmt::format("position {} is missing from topic {}: {} later events are "
                                "waiting for it (positions {}..{}, max_held {})",
                                next, co.client.topic, held.size(), held.begin()->first,
                                held.rbegin()->first, o.max_held));
      return ok();
    }
    page.push_back(ev.envelope);
    ++next;
    while (!held.empty() && held.begin()->first == next) {
      page.push_back(std::move(held.begin()->second));
      held.erase(held.begin());
      ++next;
    }
    if (page.size() >= o.batch_events) return flush();
    return ok();
  };

  const auto started = clock::now();
  const auto deadline = started + o.timeout;
  auto last_commit = started;
  bool stuck = false; // at the end, with held events, since stuck_since
  auto stuck_since = started;
  std::uint64_t stuck_next = 0;
  for (;;) {
    if (o.stop && o.stop->load()) {
      rep.stopped = true;
      break;
    }
    auto n = c.poll(std::chrono::milliseconds{100}, on_event);
    if (!n) {
      if (last_detail.empty())
        last_detail = fmt::format("reading topic {}: {}", co.client.topic, n.error().message());
      (void)flush(); // keep what is folded (its own error, if any, is less news)
      return n.error();
    }
    const auto now = clock::now();
    const bool at_end = c.at_end();
    if (page.size() >= o.batch_events || at_end || n.value() == 0 ||
        now - last_commit >= std::chrono::milliseconds{500}) {
      OTA_TRYV(flush());
      last_commit = now;
    }
    if (!c.topic_exists() && now - started >= o.gap_wait)
      return fail(make_error_code(errc::unknown_topic),
                  fmt::format("topic {} does not exist on {}", co.client.topic,
                              co.client.brokers));
    if (!o.until_end) continue;
    if (at_end && held.empty()) break;
    if (at_end) {
      if (!stuck || stuck_next != next) {
        stuck = true;
        stuck_since = now;
        stuck_next = next;
      } else if (now - stuck_since >= o.gap_wait) {
        return fail(make_error_code(errc::missing_position),
                    fmt::format("position {} is missing from topic {}: every partition was read "
                                "to its end and {} later events (positions {}..{}) wait for it; "
                                "the topic does not hold the whole log (retention, or a relay "
                                "still publishing?)",
                                next, co.client.topic, held.size(), held.begin()->first,
                                held.rbegin()->first));
      }
    } else {
      stuck = false;
    }
    if (now >= deadline)
      return fail(make_error_code(errc::timeout),
                  fmt::format("the views reached position {} of topic {} but its end was not "
                              "reached within {} ms",
                              next - 1, co.client.topic, o.timeout.count()));
  }
  OTA_TRYV(flush());
  rep.position = pj.position();
  rep.malformed = c.stats().malformed;
  if (o.digests) {
    OTA_TRY(d, view_digests(kv));
    rep.digests = std::move(d);
  }
  return rep;
}

} // namespace otaledger::kafka
