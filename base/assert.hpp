// OTA_ASSERT: an invariant that must hold; on failure it logs where and why and
// aborts (Redpanda's vassert). Never used for input validation.
#pragma once

#include <cstdio>
#include <cstdlib>

#define OTA_ASSERT(cond, msg)                                                                      \
  do {                                                                                             \
    if (!(cond)) [[unlikely]] {                                                                    \
      std::fprintf(stderr, "otaledger: assertion failed at %s:%d: %s (%s)\n", __FILE__, __LINE__,  \
                   #cond, msg);                                                                    \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)
