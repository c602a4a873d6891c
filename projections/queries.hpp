// The read side: pages of every view, for the operator API, the CLI and tests.
//
// Every list is a page: at most `limit` items (1..1000) and a `next` cursor
// (opaque; empty when there is nothing more). A page reads O(limit) rows with
// bounded kv scans, never a whole view: a filter that skips rows spends at
// most `scan_budget` rows per call and may return a short page with a
// non-empty `next` (keep following it). Results are as of the views'
// checkpoint (position()), or, with a `spaces` override from
// projections::build_as_of, as of that past position.
//
// Errors: a bad cursor, an unknown phase/status name or a limit out of range
// is errc::invalid_argument with projections::error_detail() naming the
// argument; storage errors pass through. Nothing here writes.
//
// Thread safety: a queries object holds no mutable state; use it from any
// thread (the kv store is thread-safe).
#pragma once

#include "base/result.hpp"
#include "events/json_codec.hpp"
#include "projections/rows.hpp"
#include "storage/event_store.hpp"
#include "storage/kv_store.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otaledger::projections {

/// Which page: after `cursor` (from the previous page's `next`; "" = first).
struct page_request {
  std::string cursor;
  std::size_t limit = 50; ///< 1..1000
};

template <class T> struct page {
  std::vector<T> items;
  std::string next; ///< "" when this is the last page
};

/// A task in the task list: its row and its success rate s/n.
struct task_item {
  task_row task;
  std::uint64_t succeeded = 0; ///< s
  std::uint64_t targets = 0;   ///< n: target devices (assigned so far, or the resolved total)
};

/// A task's progress: devices per execution phase, the seeds' four counts,
/// and per wave.
struct task_progress {
  std::string task;
  progress_row counters;          ///< domain::rollout_counters as stored
  std::uint64_t not_upgraded = 0; ///< pending
  std::uint64_t in_progress = 0;  ///< queued, deferred, notified ... installing, retry_wait
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t canceled = 0;
  std::vector<std::pair<std::uint32_t, wave_row>> waves; ///< by wave number
};

/// One line of a task's device status list.
struct device_status_item {
  execution_row execution;
  device_info_row device;
};

struct task_filter {
  std::string status;      ///< "" any; else a task status name (not "deleted")
  std::string name_prefix; ///< "" any; case-insensitive prefix of the name
};

struct device_status_filter {
  std::optional<events::execution_phase> phase;
  /// "" any; else a prefix of the device id, or of the MAC when it contains ':'.
  std::string search;
};

struct fleet_filter {
  std::string product; ///< "" every product
  std::optional<bool> online;
};

struct product_summary {
  std::string product;
  product_counts_row counts;
  struct version_count {
    events::firmware_kind kind;
    std::string version;
    std::uint64_t devices = 0;
  };
  std::vector<version_count> versions;
};

struct firmware_filter {
  std::string vendor;         ///< "" any (exact otherwise)
  std::string model;          ///< "" any (exact; needs vendor)
  std::string version_prefix; ///< "" any (needs vendor and model)
};

struct group_member {
  std::string device;
  std::optional<fleet_row> info; ///< name, IMEI, versions (absent if never registered)
};

/// A view name -> kv space map (build_as_of's answer) to query a past state.
using view_spaces = std::map<std::string, std::string>;

class queries {
public:
  /// Rows scanned at most per call when a filter skips rows.
  static constexpr std::size_t scan_budget = 10'000;

  explicit queries(storage::kv_store& kv, view_spaces at = {}) : kv_(&kv), at_(std::move(at)) {}

  result<page<task_item>> tasks(const task_filter& f, const page_request& p) const;
  result<std::optional<task_item>> task(std::string_view id) const;
  result<std::optional<task_progress>> progress(std::string_view task) const;
  result<page<device_status_item>>
  device_status(std::string_view task, const device_status_filter& f, const page_request& p) const;
  result<page<fleet_row>> fleet(const fleet_filter& f, const page_request& p) const;
  result<std::optional<fleet_row>> device(std::string_view id) const;
  result<product_summary> fleet_summary(std::string_view product) const;
  result<page<firmware_row>> firmware(const firmware_filter& f, const page_request& p) const;
  result<std::optional<package_row>> package(std::string_view id) const;
  /// Packages by id, all of them or those of one firmware version ("" = any);
  /// deleted packages are left out.
  result<page<package_row>> packages(std::string_view firmware, const page_request& p) const;
  result<page<group_row>> groups(std::string_view name_prefix, const page_request& p) const;
  result<page<group_member>> group_members(std::string_view group, const page_request& p) const;

  /// The audit trail of one stream (who, when, why, what changed), in version
  /// order, read from the log's stream index; the cursor is a version.
  static result<page<events::envelope>>
  audit_stream(storage::event_store& log, std::string_view stream, const page_request& p);
  /// Every event of a correlation id (a command and all its effects), in log
  /// order, from the audit view's blocks of positions; the cursor is the hex of
  /// the audit key of the last position returned.
  result<page<events::envelope>> audit_correlation(storage::event_store& log,
                                                   std::string_view correlation,
                                                   const page_request& p) const;

private:
  result<std::string> space(std::string_view view) const;
  storage::kv_store* kv_;
  view_spaces at_;
};

/// JSON of query results (the shapes the HTTP API returns).
events::json to_json(const task_item& t);
events::json to_json(const task_progress& p);
events::json to_json(const device_status_item& d);
events::json to_json(const product_summary& s);
events::json to_json(const group_member& m);
/// An audit entry: the envelope's JSON (who, when, why, data = what changed).
result<events::json> to_json(const events::envelope& e);

} // namespace otaledger::projections
