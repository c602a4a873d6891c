/*
 * otaledger_patch: the device-side applier of otaledger deltas, in portable C99.
 *
 * A delta (format "OTADELTA" version 1 or 2, docs/delta.md) turns one exact old
 * image into one exact new image. This applier is written for
 * microcontrollers:
 *
 *   - no malloc: the caller passes one work buffer; its size depends on the
 *     delta's codec parameters (otaledger_patch_work_size) and is at most
 *     OTALEDGER_PATCH_WORK_SIZE_MAX (16 KiB) for every delta the otaledger
 *     server makes for the MCU profile (codec lzr; format 2 with
 *     window_log <= 12, format 1 with window_log <= 13). That buffer holds every byte of state,
 * including the decompression window; the applier itself needs about 260 bytes of stack
 * (arm-none-eabi-gcc -Os -fstack-usage, Cortex-M4) plus what the callbacks use, and no static data
 * besides constant tables;
 *   - streaming: the delta is read strictly front to back through
 *     read_delta, the old image is read by offset through read_old (random
 *     access to the old slot), and the new image is written strictly
 *     sequentially through write_new;
 *   - checked: the old image's size and SHA-256 must equal the header's
 *     (checked before anything is written), the payload's CRC-32C and the
 *     produced image's size and SHA-256 are checked at the end, and every
 *     field and every command is bounds-checked, so a corrupted or truncated
 *     delta yields an error code, never a crash or a write outside the new
 *     image's size.
 *
 * A non-zero return means the bytes written so far are garbage: the caller
 * must not mark the new slot bootable. The old image is never written.
 *
 * Thread safety: none needed; all state lives in the caller's work buffer.
 */
#ifndef OTALEDGER_PATCH_H
#define OTALEDGER_PATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- format constants (docs/delta.md, "Header") ---- */

/** Size of the fixed header that starts every delta. */
#define OTALEDGER_PATCH_HEADER_SIZE 120u
/** The magic at offset 0: the eight ASCII bytes "OTADELTA". */
#define OTALEDGER_PATCH_MAGIC "OTADELTA"
/** The newest format version this applier reads (it reads 1 and 2). */
#define OTALEDGER_PATCH_FORMAT_VERSION 2u

/** Codec of the payload (header offset 10). */
#define OTALEDGER_PATCH_CODEC_RAW 0u  /**< the payload is the command stream itself */
#define OTALEDGER_PATCH_CODEC_LZR 1u  /**< LZ77 + adaptive binary range coder, small window */
#define OTALEDGER_PATCH_CODEC_ZSTD 2u /**< zstd frame (Linux profile; not decoded here) */

/** Bounds of the lzr codec's parameters (header offsets 11 and 12). */
#define OTALEDGER_PATCH_LZR_MIN_WINDOW_LOG 8u
#define OTALEDGER_PATCH_LZR_MAX_WINDOW_LOG 16u
#define OTALEDGER_PATCH_LZR_MAX_LIT_CTX_BITS 3u

/** The work buffer this applier needs at most for an MCU-profile delta:
 *  format 2 (the default) with window_log <= 12 (or 13 with lit_ctx_bits
 *  <= 1), format 1 with window_log <= 13. Deltas with a larger window need
 *  more (otaledger_patch_work_size tells), and are refused with
 *  OTALEDGER_PATCH_E_WORK_TOO_SMALL when the buffer is too small. */
#define OTALEDGER_PATCH_WORK_SIZE_MAX 16384u

/* ---- error codes (all negative; 0 is success) ---- */
enum {
  OTALEDGER_PATCH_OK = 0,
  OTALEDGER_PATCH_E_NOT_A_DELTA = -1,    /**< the magic is not "OTADELTA" */
  OTALEDGER_PATCH_E_VERSION = -2,        /**< a format version this applier cannot read */
  OTALEDGER_PATCH_E_UNSUPPORTED = -3,    /**< a codec or parameter this applier cannot decode */
  OTALEDGER_PATCH_E_BAD_HEADER = -4,     /**< the header's CRC or a field is wrong */
  OTALEDGER_PATCH_E_TRUNCATED = -5,      /**< the delta ended before its payload did */
  OTALEDGER_PATCH_E_CORRUPT = -6,        /**< the payload fails its CRC or does not decode */
  OTALEDGER_PATCH_E_WRONG_OLD = -7,      /**< the old image is not the one the delta applies to */
  OTALEDGER_PATCH_E_NEW_MISMATCH = -8,   /**< the produced image's SHA-256 is not the header's */
  OTALEDGER_PATCH_E_WORK_TOO_SMALL = -9, /**< the work buffer is smaller than needed */
  OTALEDGER_PATCH_E_IO = -10,            /**< a callback reported an error */
  OTALEDGER_PATCH_E_ARGUMENT = -11,      /**< a null callback or buffer */
  OTALEDGER_PATCH_E_TRAILING = -12       /**< bytes follow the payload */
};

/** The header of a delta, as parsed (all integers are little-endian on the wire). */
typedef struct otaledger_patch_header {
  uint16_t version;      /**< format version (1 or 2) */
  uint8_t codec;         /**< OTALEDGER_PATCH_CODEC_* */
  uint8_t window_log;    /**< lzr: log2 of the window in bytes; zstd: informational */
  uint8_t lit_ctx_bits;  /**< lzr: high bits of the previous byte used as literal context */
  uint64_t old_size;     /**< size of the old image in bytes */
  uint64_t new_size;     /**< size of the new image in bytes */
  uint64_t body_size;    /**< format 1: size of the decompressed command stream;
                              format 2: number of commands */
  uint64_t payload_size; /**< size of the (compressed) payload that follows the header */
  uint8_t old_sha256[32];
  uint8_t new_sha256[32];
  uint32_t payload_crc32c; /**< CRC-32C (Castagnoli) of the payload bytes */
} otaledger_patch_header;

/** Parses and checks the OTALEDGER_PATCH_HEADER_SIZE bytes at `bytes`
 *  (magic, version, header CRC, field ranges). Returns 0 or an error code. */
int otaledger_patch_parse_header(const uint8_t* bytes, otaledger_patch_header* out);

/** The work buffer size (bytes) that otaledger_patch_apply needs for a delta
 *  with this header, or 0 when this applier cannot decode it (zstd codec). */
size_t otaledger_patch_work_size(const otaledger_patch_header* header);

/** The caller's I/O. Each callback returns 0 on success, non-zero on error. */
typedef struct otaledger_patch_io {
  void* user; /**< passed to every callback */
  /** Bytes readable from the old image: its size, or the size of the slot
   *  holding it. A delta for a larger old image is refused as the wrong one. */
  uint64_t old_available;
  /** Reads up to `cap` (> 0) next bytes of the delta into `buf`, stores the
   *  count in `*got`; `*got == 0` means the delta ended. */
  int (*read_delta)(void* user, uint8_t* buf, size_t cap, size_t* got);
  /** Reads exactly `len` bytes of the old image starting at `offset`. The
   *  applier only asks for ranges inside [0, old_size). */
  int (*read_old)(void* user, uint64_t offset, uint8_t* buf, size_t len);
  /** Appends `len` bytes to the new image (called in order, never seeks). */
  int (*write_new)(void* user, const uint8_t* buf, size_t len);
} otaledger_patch_io;

/** Applies the delta read through `io->read_delta` to the old image and
 *  writes the new image. `work` is any byte buffer (no alignment needed) of
 *  `work_size` bytes, at least otaledger_patch_work_size(header). If
 *  `header_out` is not null the parsed header is stored there as soon as it
 *  is read (also when a later step fails). Returns 0 when the new image was
 *  written completely and its SHA-256 matched, otherwise an error code. */
int otaledger_patch_apply(const otaledger_patch_io* io, void* work, size_t work_size,
                          otaledger_patch_header* header_out);

/** A short English description of an error code (never null). */
const char* otaledger_patch_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* OTALEDGER_PATCH_H */
