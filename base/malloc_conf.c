/* jemalloc's settings for the binaries that link otaledger::malloc (the
 * server and the benchmark). jemalloc reads this symbol at start; the
 * MALLOC_CONF environment variable still overrides it.
 *
 * narenas:2 — one arena per core instead of jemalloc's default of four per
 * CPU: the actor workers, the append writer, the I/O pool and RocksDB's
 * threads otherwise spread their allocations over eight arenas, each holding
 * its own freed pages. A 100,000-device rollout peaked at 413 MB instead of
 * 459 MB (docs/actors.md, "Allocator"). */
const char* malloc_conf = "narenas:2";
