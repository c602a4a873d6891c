// Forward declarations of storage's public types, for headers that only pass
// them around.
#pragma once

namespace otaledger::storage {

enum class errc : int;
struct options;
struct expected_version;
struct new_event;
struct append_request;
struct append_result;
struct snapshot;
class subscription;
class event_store;
class write_batch;
class kv_store;
struct blob_info;
class blob_writer;
class blob_store;
struct database;

} // namespace otaledger::storage
