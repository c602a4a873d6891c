// The catalog index: the facts of the small aggregates that other aggregates'
// commands must check, folded from the log.
//
// Uniqueness across aggregates (a firmware's (kind, vendor, model, version);
// a product's hardware + software codes; one package per target and initial
// version) cannot be an invariant of one stream, so the command path consults
// this index: decide_context::catalog. The index is a pure fold of product-,
// firmware-, package-, group- and task- events (never device events), small
// enough for memory at any fleet size (catalog-sized, not fleet-sized).
//
// Consistency: uniqueness holds when the commands that consult the index are
// serialized with the folding of the events they produce, i.e. one catalog
// actor owns the index, decides create/edit/delete of products, firmware,
// packages, groups and tasks in turn, and folds each appended event before the
// next command (docs/domain.md, "Uniqueness across aggregates"). After a
// restart the index is rebuilt by folding the catalog streams from position 0.
//
// Thread safety: a value; one writer, or copies.
#pragma once

#include "events/catalog.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otaledger::domain {

class catalog_index {
public:
  struct product_entry {
    std::string id;
    std::string name;
    std::string secret_hash;
    bool require_verification = true;
  };
  struct firmware_entry {
    std::string id;
    std::string product;
    events::firmware_kind kind = events::firmware_kind::fota;
    std::string vendor;
    std::string model;
    std::string version;
    std::string hardware_code;
    std::string software_code;
    std::optional<events::file_info> image;
    bool verified = false;
  };
  struct package_entry {
    std::string id;
    std::string firmware;
    events::firmware_kind kind = events::firmware_kind::fota;
    std::string vendor;
    std::string model;
    std::string target_version;
    events::package_type type = events::package_type::full;
    std::string initial_version;
    events::package_origin origin = events::package_origin::uploaded;
    events::file_info file;
  };
  /// A task that is not finished (not_started, upgrading or paused).
  struct task_entry {
    std::string id;
    std::string package;
    events::package_summary summary; ///< the package as the task recorded it
    std::vector<std::string> groups;
    std::string_view status = "not_started";
  };

  /// Folds one event (events of devices are ignored).
  void apply(const events::event& e);

  const product_entry* product(std::string_view id) const;
  const firmware_entry* firmware(std::string_view id) const;
  /// The live firmware version (kind, vendor, model, version), if any.
  const firmware_entry* firmware_by_version(events::firmware_kind kind, std::string_view vendor,
                                            std::string_view model, std::string_view version) const;
  /// The live firmware of `product` with both codes, if any.
  const firmware_entry* firmware_by_codes(std::string_view product, std::string_view hardware,
                                          std::string_view software) const;
  const package_entry* package(std::string_view id) const;
  /// The live package to `firmware` from `initial_version` ("" for full), if any.
  const package_entry* package_by_origin(std::string_view firmware,
                                         std::string_view initial_version) const;
  /// Ids of the live packages whose target is `firmware`.
  std::vector<std::string> packages_of(std::string_view firmware) const;
  bool group_exists(std::string_view id) const;
  const task_entry* task(std::string_view id) const;

  /// A not-finished task that uses the package, if any.
  const task_entry* task_using_package(std::string_view package) const;
  /// A not-finished task whose package targets the firmware or starts from its
  /// version, if any.
  const task_entry* task_using_firmware(std::string_view firmware) const;
  /// A not-finished task that targets the group, if any.
  const task_entry* task_using_group(std::string_view group) const;

private:
  static std::string version_key(events::firmware_kind kind, std::string_view vendor,
                                 std::string_view model, std::string_view version);
  static std::string codes_key(std::string_view product, std::string_view hardware,
                               std::string_view software);
  static std::string origin_key(std::string_view firmware, std::string_view initial);

  std::map<std::string, product_entry, std::less<>> products_;
  std::map<std::string, firmware_entry, std::less<>> firmware_;
  std::map<std::string, std::string, std::less<>> firmware_by_version_;
  std::map<std::string, std::string, std::less<>> firmware_by_codes_;
  std::map<std::string, package_entry, std::less<>> packages_;
  std::map<std::string, std::string, std::less<>> packages_by_origin_;
  std::map<std::string, bool, std::less<>> groups_;
  std::map<std::string, task_entry, std::less<>> tasks_;
};

} // namespace otaledger::domain
