/*
 * expl_codec — an anomaly's explanation as it is stored on chain: the
 * detector writes its explanations from a few templates with numbers in
 * them (services/detector/det_explain.c, det_multi.c, det_fleet.c), so a
 * record carries the template's number and the parameters instead of the
 * text, and every reader (the gateway, `chainlogger verify` and `prove`)
 * renders the same text back, byte for byte.
 *
 * Encoded forms (the explanation bytes of an anomaly record, see
 * eth/anomaly_log.h):
 *   empty            the empty text
 *   0x01 T params    template T (EXPL_TEMPLATES below, in expl_codec.c),
 *                    its slots' parameters in order
 *   0x02 text        raw text that itself starts with a byte < 0x20
 *   0x03 T params    as 0x01, but the template's first number is the
 *                    record's value as the detector prints it: no parameter
 *                    (expl_codec_encode_v; records before it never use 0x03)
 *   anything else    raw text (UTF-8 as received): records written before
 *                    this codec decode unchanged
 *
 * Slots and their parameters (varint = unsigned LEB128, at most 10 bytes):
 *   metric  the record's own metric: nothing stored
 *   number  a decimal token -?D+(.D+)? as printed: varint(zigzag(m) * 8 + d)
 *           for the digits m without the point and d (0..7) decimals
 *   unit    "" or " " + unit: at its first place a length byte and the
 *           bytes, later places repeat it for free
 *   clock   "HH:MM UTC": 0 when it is the record's own time of day, else
 *           varint(minute of the day + 1)
 *   word    one of a fixed list (above/below/up/down, the feature names): index byte
 *   string  a length byte and the bytes
 *   tail    0 nothing; 1 the fleet suffix (det_fleet.c) with its slots; 2
 *           varint length and raw bytes
 * The encoder only keeps a template when rendering the parameters gives the
 * text back exactly; otherwise, or when no template matches, the text is
 * stored raw. Numbers and units of real explanations take 2-4 bytes
 * instead of 5-12.
 */
#ifndef COMMON_ETH_EXPL_CODEC_H
#define COMMON_ETH_EXPL_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define EXPL_CODEC_TEMPLATE 0x01 /* first byte of a template encoding */
#define EXPL_CODEC_ESCAPED 0x02  /* first byte of raw text starting with a control byte */
#define EXPL_CODEC_TEMPLATE_VALUE 0x03 /* a template whose first number is the record's value */

/** Encode the explanation `text` of an anomaly of `metric` at ts_ms (Unix
 *  ms, as the record stores it) into out[0..cap-1].
 *  Returns: the encoded length (0 for an empty text), or -1 when it does
 *  not fit in cap. Thread-safe; no allocation. */
int expl_codec_encode(const char *text, const char *metric, int64_t ts_ms, uint8_t *out,
                      size_t cap);

/** Render in[0..len-1] back into text (NUL-terminated, cap bytes).
 *  Returns: the text length, or -1 when the encoding is malformed (unknown
 *  template, truncated or over-long parameters, a NUL in the result, a
 *  text of cap bytes or more). Never crashes on bad input. Thread-safe. */
int expl_codec_decode(const uint8_t *in, size_t len, const char *metric, int64_t ts_ms, char *text,
                      size_t cap);

/** expl_codec_encode knowing the record's value: a template whose first
 *  number is the value as the detector prints it (det_explain.c, det_num:
 *  one decimal from 10, two from 1, else 3 significant digits) is stored
 *  as 0x03 T params without that number. value NaN: as expl_codec_encode.
 *  Returns as expl_codec_encode. Thread-safe; no allocation. */
int expl_codec_encode_v(const char *text, const char *metric, int64_t ts_ms, double value,
                        uint8_t *out, size_t cap);

/** expl_codec_decode of a record with this value (needed by the 0x03
 *  form; expl_codec_decode fails on it). Returns as expl_codec_decode. */
int expl_codec_decode_v(const uint8_t *in, size_t len, const char *metric, int64_t ts_ms,
                        double value, char *text, size_t cap);

/** Number of templates (for tests). */
int expl_codec_templates(void);

#endif
