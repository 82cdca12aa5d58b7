#!/usr/bin/env python3
"""Writes the hand-written seed corpora tests/fuzz/corpus/<harness>/ and
tests/fuzz/corpus/EXPECTED, the outcome each seed must have in the normal
tests (tests/unit/test_nasty.c). The files are committed; rerun this after
editing the lists below:  /usr/bin/python3 tests/fuzz/seeds.py

Each harness's input layout (prefix bytes) is documented at the top of
tests/fuzz/fuzz_<harness>.c. Expected outcomes:
  reading, anomaly, ingest: ok | ok:N (N readings, ingest) | ignored (ingest:
      0 readings) | the reading_strerror() name of the error (json, type, ...)
  anomaly_log: ok | invalid          rpc: ok | parse | remote | transport
  "-" = no particular outcome, only no crash and the error contract.
Payloads too big or too regular to commit (10 MB, 100k nesting levels,
100k fields) are generated at run time by scripts/fuzz.sh and test_nasty.c.
"""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
NOW = 1764028800  # FUZZ_NOW in fuzz.h


# ---- Keccak-256 (Ethereum's, not SHA3-256), for consistent anomaly_log logs ----
def keccak256(data):
    RC = [0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
          0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
          0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
          0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
          0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
          0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008]
    ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61],
           [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
    M = (1 << 64) - 1
    rot = lambda v, n: ((v << n) | (v >> (64 - n))) & M if n else v
    rate = 136
    msg = bytearray(data) + b"\x01"
    while len(msg) % rate:
        msg += b"\x00"
    msg[-1] |= 0x80
    A = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        for i in range(rate // 8):
            A[i % 5][i // 5] ^= struct.unpack_from("<Q", msg, off + 8 * i)[0]
        for rnd in range(24):
            C = [A[x][0] ^ A[x][1] ^ A[x][2] ^ A[x][3] ^ A[x][4] for x in range(5)]
            D = [C[(x - 1) % 5] ^ rot(C[(x + 1) % 5], 1) for x in range(5)]
            A = [[A[x][y] ^ D[x] for y in range(5)] for x in range(5)]
            B = [[0] * 5 for _ in range(5)]
            for x in range(5):
                for y in range(5):
                    B[y][(2 * x + 3 * y) % 5] = rot(A[x][y], ROT[x][y])
            A = [[B[x][y] ^ (~B[(x + 1) % 5][y] & B[(x + 2) % 5][y]) for y in range(5)]
                 for x in range(5)]
            A[0][0] ^= RC[rnd]
    return b"".join(struct.pack("<Q", A[i % 5][i // 5]) for i in range(4))


assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"

seeds = []  # (harness, name, bytes, expect)


def add(h, name, data, expect="-"):
    if isinstance(data, str):
        data = data.encode()
    seeds.append((h, name, data, expect))


# ---- JSON nasties shared by every JSON parser ---------------------------
# (name, payload, expected as a reading, expected as an anomaly)
JSON_NASTY = [
    ("empty", b"", "json", "json"),
    ("whitespace", b"  \n\t ", "json", "json"),
    # jansson decodes only objects and arrays at the top level
    ("null", b"null", "json", "json"),
    ("array", b"[]", "type", "type"),
    ("string", b'"temperature"', "json", "json"),
    ("number", b"21.4", "json", "json"),
    ("truncated", b'{"temperature":', "json", "json"),
    ("unquoted_key", b"{temperature:21.4}", "json", "json"),
    ("trailing_comma", b'{"temperature":21.4,}', "json", "json"),
    ("single_quotes", b"{'temperature':21.4}", "json", "json"),
    ("trailing_garbage", b'{"temperature":21.4}xyz', "json", "json"),
    ("two_documents", b'{"temperature":21.4}{"temperature":21.5}', "json", "json"),
    ("bom", b'\xef\xbb\xbf{"temperature":21.4}', "json", "json"),
    ("nan_literal", b'{"temperature":NaN}', "json", "json"),
    ("nan_lower", b'{"temperature":nan}', "json", "json"),
    ("infinity", b'{"temperature":Infinity}', "json", "json"),
    ("neg_infinity", b'{"temperature":-Infinity}', "json", "json"),
    ("overflow_1e999", b'{"temperature":1e999}', "json", "json"),
    ("overflow_neg_1e999", b'{"temperature":-1e999}', "json", "json"),
    ("hex_number", b'{"temperature":0x15}', "json", "json"),
    ("leading_plus", b'{"temperature":+21}', "json", "json"),
    ("int_overflow", b'{"temperature":99999999999999999999999}', "json", "json"),
    ("nul_in_key", b'{"temp\\u0000erature":21.4}', "json", "json"),
    ("raw_nul_byte", b'{"temperature":21.4}\x00', "json", "json"),
    ("invalid_utf8_key", b'{"temp\xff":21.4}', "json", "json"),
    ("invalid_utf8_value", b'{"temperature":21.4,"note":"\xc3\x28"}', "json", "json"),
    ("overlong_utf8", b'{"temperature":21.4,"note":"\xc0\xaf"}', "json", "json"),
    ("lone_surrogate", b'{"temperature":21.4,"note":"\\ud800"}', "json", "json"),
    ("utf16_le", '{"temperature":21.4}'.encode("utf-16-le"), "json", "json"),
    ("duplicate_key", b'{"temperature":21.4,"temperature":99}', "json", "json"),
    ("nested_100", b'{"a":' * 100 + b"1" + b"}" * 100, "no_metric", "type"),
    ("nested_arrays_3000", b"[" * 3000 + b"]" * 3000, "json", "json"),
    ("unterminated_string", b'{"temperature":21.4,"x":"abc', "json", "json"),
    ("control_char_in_string", b'{"temperature":21.4,"x":"a\x01b"}', "json", "json"),
]

# ---- reading (native format) ---------------------------------------------
R = "reading"
add(R, "valid_basic", '{"ts": %d.5, "temperature": 21.4, "humidity": 40.1, "pressure": 1013.2}' % NOW, "ok")
add(R, "valid_no_ts", '{"temperature": 21.4}', "ok")
add(R, "valid_int_values", '{"ts": %d, "temperature": 21, "humidity": 40}' % NOW, "ok")
add(R, "valid_negative_zero", '{"temperature": -0.0}', "ok")
add(R, "valid_underflow_1e-999", '{"temperature": 1e-999}', "ok")
add(R, "dbl_max_out_of_range", '{"temperature": 1.7976931348623157e308}', "type")
add(R, "valid_at_max_abs", '{"temperature": -1e15}', "ok")
add(R, "valid_denormal", '{"temperature": 4.9e-324}', "ok")
add(R, "valid_non_numeric_ignored", '{"temperature": 21.4, "unit": "C", "ok": true, "n": null, "o": {"a": 1}}', "ok")
add(R, "valid_8_metrics", "{" + ",".join('"m%d":%d' % (i, i) for i in range(8)) + "}", "ok")
add(R, "too_many_9_metrics", "{" + ",".join('"m%d":%d' % (i, i) for i in range(9)) + "}", "too_many")
add(R, "many_fields_500", "{" + ",".join('"m%d":%d' % (i, i) for i in range(500)) + "}", "too_many")
add(R, "many_string_fields_2000", "{" + ",".join('"s%d":"x"' % i for i in range(2000)) + ',"temperature":1}', "ok")
add(R, "name_31_chars", '{"%s": 1}' % ("n" * 31), "ok")
add(R, "name_32_chars", '{"%s": 1}' % ("n" * 32), "format")
add(R, "name_empty", '{"": 1}', "format")
add(R, "no_metric", '{"ts": %d}' % NOW, "no_metric")
add(R, "empty_object", "{}", "no_metric")
add(R, "only_strings", '{"temperature": "21.4"}', "no_metric")
add(R, "ts_string", '{"ts": "%d", "temperature": 21.4}' % NOW, "type")
add(R, "ts_bool", '{"ts": true, "temperature": 21.4}', "type")
add(R, "ts_null", '{"ts": null, "temperature": 21.4}', "type")
add(R, "ts_object", '{"ts": {"s": 1}, "temperature": 21.4}', "type")
add(R, "ts_negative", '{"ts": -1, "temperature": 21.4}', "timestamp")
add(R, "ts_tiny_negative", '{"ts": -1e-9, "temperature": 21.4}', "timestamp")
add(R, "ts_zero", '{"ts": 0, "temperature": 21.4}', "ok")
add(R, "ts_far_future", '{"ts": 4102444800, "temperature": 21.4}', "timestamp")
add(R, "ts_milliseconds", '{"ts": %d000, "temperature": 21.4}' % NOW, "timestamp")
add(R, "ts_1e308", '{"ts": 1e308, "temperature": 21.4}', "timestamp")
add(R, "ts_int_max", '{"ts": 9223372036854775807, "temperature": 21.4}', "timestamp")
add(R, "ts_int_min", '{"ts": -9223372036854775808, "temperature": 21.4}', "timestamp")
add(R, "ts_overflow", '{"ts": 1e999, "temperature": 21.4}', "json")
add(R, "ts_nan", '{"ts": NaN, "temperature": 21.4}', "json")
for name, p, er, _ in JSON_NASTY:
    add(R, name, p, er)
# sensor id given on a first line starting with '@' (fuzz_reading.c)
add(R, "sensor_slash", b'@a/b\n{"temperature":1}', "sensor_id")
add(R, "sensor_plus", b'@a+\n{"temperature":1}', "sensor_id")
add(R, "sensor_hash", b'@#\n{"temperature":1}', "sensor_id")
add(R, "sensor_empty", b'@\n{"temperature":1}', "sensor_id")
add(R, "sensor_64", b"@" + b"s" * 64 + b'\n{"temperature":1}', "ok")
add(R, "sensor_65", b"@" + b"s" * 65 + b'\n{"temperature":1}', "sensor_id")
add(R, "sensor_utf8", '@capteur-é\n{"temperature":1}'.encode(), "sensor_id")
add(R, "sensor_space", b'@a b\n{"temperature":1}', "sensor_id")

# ---- anomaly ---------------------------------------------------------------
A = "anomaly"
good = {"id": "ab" * 32, "sensor_id": "demo", "ts": NOW + 0.5, "metric": "temperature",
        "value": 1000, "score": 0.83, "type": "point", "explanation": "temperature 1000 degC is above",
        "expected_low": 19.1, "expected_high": 24.3, "model_version": 3}


def anom(**kw):
    d = dict(good)
    for k, v in kw.items():
        if v is KeyError:
            d.pop(k, None)
        else:
            d[k] = v
    return json.dumps(d, ensure_ascii=False).encode()


add(A, "valid_full", anom(), "ok")
add(A, "valid_minimal", anom(explanation=KeyError, expected_low=KeyError, expected_high=KeyError,
                             model_version=KeyError), "ok")
add(A, "valid_contextual", anom(type="contextual"), "ok")
add(A, "valid_change_point", anom(type="change_point"), "ok")
add(A, "valid_uppercase_id", anom(id="AB" * 32), "ok")
add(A, "valid_score_0", anom(score=0), "ok")
add(A, "valid_score_1", anom(score=1), "ok")
add(A, "valid_ts_zero", anom(ts=0), "ok")
add(A, "valid_unicode_explanation", anom(explanation="température 1000 °C ≫ 24 — 🔥"), "ok")
add(A, "valid_long_explanation_ascii", anom(explanation="x" * 2000), "ok")
# 600 bytes of 2-byte characters: cutting at 511 bytes must not split one
add(A, "long_explanation_multibyte", anom(explanation="é" * 300 + "z"), "ok")
add(A, "long_explanation_emoji", anom(explanation="🔥" * 200), "ok")
add(A, "valid_model_version_negative", anom(model_version=-5), "ok")
add(A, "model_version_float", anom(model_version=3.5), "ok")
add(A, "model_version_huge", anom(model_version=2 ** 62), "ok")
add(A, "expected_low_string", anom(expected_low="19"), "ok")
for field in ("id", "sensor_id", "ts", "metric", "value", "score", "type"):
    add(A, "missing_" + field, anom(**{field: KeyError}), "type")
add(A, "id_63", anom(id="a" * 63), "format")
add(A, "id_65", anom(id="a" * 65), "format")
add(A, "id_not_hex", anom(id="zz" * 32), "format")
add(A, "id_0x_prefix", anom(id="0x" + "ab" * 31), "format")
add(A, "id_number", anom(id=12), "type")
add(A, "sensor_slash", anom(sensor_id="a/b"), "sensor_id")
add(A, "sensor_wildcard", anom(sensor_id="#"), "sensor_id")
add(A, "sensor_65", anom(sensor_id="s" * 65), "sensor_id")
add(A, "sensor_empty", anom(sensor_id=""), "sensor_id")
add(A, "metric_empty", anom(metric=""), "format")
add(A, "metric_32", anom(metric="m" * 32), "format")
add(A, "type_unknown", anom(type="spike"), "format")
add(A, "type_number", anom(type=0), "type")
add(A, "score_above_1", anom(score=1.5), "timestamp")
add(A, "score_negative", anom(score=-0.1), "timestamp")
add(A, "ts_negative", anom(ts=-1), "timestamp")
add(A, "ts_string", anom(ts="now"), "type")
add(A, "value_string", anom(value="1000"), "type")
add(A, "value_bool", anom(value=True), "type")
add(A, "value_null", anom(value=None), "type")
add(A, "explanation_number", anom(explanation=5), "type")
add(A, "nan_value", anom().replace(b'"value": 1000', b'"value": NaN'), "json")
add(A, "overflow_score", anom().replace(b'"score": 0.83', b'"score": 1e999'), "json")
add(A, "far_future_ts", anom(ts=1e15), "-")
add(A, "extra_fields", anom(extra={"deep": [1, 2, {"x": None}]}, more="x"), "ok")
for name, p, _, ea in JSON_NASTY:
    add(A, name, p, ea)

# ---- ingest: byte 0 picks the topic (fuzz_ingest.c: 0 native, 1 z2m, 2 tasmota,
# 3 senml, 4..6 esphome members, 7 esphome (°F), 8 z2m bridge, 15 = topic line)
I = "ingest"
def ing(name, topic, payload, expect="-"):
    if isinstance(payload, str):
        payload = payload.encode()
    if isinstance(topic, int):
        add(I, name, bytes([topic]) + payload, expect)
    else:
        add(I, name, b"\x0f" + topic.encode() + b"\n" + payload, expect)

ing("native_valid", 0, '{"temperature":21.4,"humidity":40}', "ok:1")
ing("native_nan", 0, '{"temperature":NaN}', "json")
ing("native_9_metrics", 0, "{" + ",".join('"m%d":%d' % (i, i) for i in range(9)) + "}", "too_many")
ing("z2m_valid", 1, '{"temperature":21.4,"humidity":40.5,"battery":97,"linkquality":120,"voltage":2995}', "ok:1")
ing("z2m_switch_only", 1, '{"state":"ON","linkquality":120}', "ignored")
ing("z2m_string_temp", 1, '{"temperature":"21.4"}', "-")
ing("z2m_nested", 1, '{"update":{"state":"idle"},"temperature":21.4}', "ok:1")
ing("z2m_not_object", 1, '"online"', "-")
ing("z2m_nan", 1, '{"temperature":NaN}', "json")
ing("z2m_1e308_fahrenheit", b"\x19"[0], '{"temperature":1e308}', "-")
ing("z2m_bridge", 8, '{"state":"online"}', "ignored")
ing("z2m_bridge_plain", 8, 'online', "ignored")
ing("tasmota_valid", 2, '{"Time":"2025-11-25T10:00:00","BME280":{"Temperature":21.4,"Humidity":40.1,"DewPoint":7.5,"Pressure":1013.2},"PressureUnit":"hPa","TempUnit":"C"}', "ok:1")
ing("tasmota_two_sensors", 2, '{"Time":"2025-11-25T10:00:00","DS18B20-1":{"Id":"0316A2793DFF","Temperature":20.1},"DS18B20-2":{"Id":"0316A2793D00","Temperature":20.6},"TempUnit":"C"}', "-")
ing("tasmota_fahrenheit", 2, '{"Time":"2025-11-25T10:00:00","SHT3X":{"Temperature":70.7,"Humidity":40},"TempUnit":"F"}', "ok:1")
ing("tasmota_esp32_only", 2, '{"Time":"2025-11-25T10:00:00","ESP32":{"Temperature":45.0},"TempUnit":"C"}', "ignored")
ing("tasmota_bad_unit", 2, '{"Time":"2025-11-25T10:00:00","SHT3X":{"Temperature":21},"TempUnit":"X"}', "-")
ing("tasmota_unit_number", 2, '{"SHT3X":{"Temperature":21},"TempUnit":5}', "-")
ing("tasmota_sensor_array", 2, '{"SHT3X":[1,2,3]}', "-")
ing("tasmota_time_invalid", b"\x1a"[0], '{"Time":"2025-13-45T99:99:99","SHT3X":{"Temperature":21}}', "-")
ing("tasmota_time_far_future", b"\x1a"[0], '{"Time":"2999-01-01T00:00:00","SHT3X":{"Temperature":21}}', "timestamp")
ing("tasmota_time_year_0", b"\x1a"[0], '{"Time":"0000-01-01T00:00:00","SHT3X":{"Temperature":21}}', "-")
ing("tasmota_time_number", b"\x1a"[0], '{"Time":12345,"SHT3X":{"Temperature":21}}', "-")
ing("tasmota_time_offsets", b"\x1a"[0], '{"Time":"2025-11-25T10:00:00.123+05:30","SHT3X":{"Temperature":21}}', "-")
ing("tasmota_huge_name", 2, '{"%s":{"Temperature":21}}' % ("N" * 5000), "-")
senml_ok = [{"bn": "dev1:", "bt": NOW, "n": "temp", "u": "Cel", "v": 21.4}, {"n": "hum", "u": "%RH", "v": 40}]
ing("senml_valid", 3, json.dumps(senml_ok), "ok:1")
ing("senml_two_instants", 3, json.dumps([{"bn": "d:", "bt": NOW, "n": "temp", "v": 1}, {"n": "temp", "t": 10, "v": 2}]), "-")
ing("senml_relative_time", 3, json.dumps([{"bn": "d:", "n": "temp", "t": -5, "v": 1}]), "ok:1")
# bt below 2^28 is relative to now (RFC 8428 4.5.3): -1e9 is 32 years ago, -1e18 before 1970
ing("senml_relative_bt", 3, json.dumps([{"bn": "d:", "bt": -1e9, "n": "temp", "v": 1}]), "ok:1")
ing("senml_negative_bt", 3, json.dumps([{"bn": "d:", "bt": -1e18, "n": "temp", "v": 1}]), "timestamp")
ing("senml_far_future", 3, json.dumps([{"bn": "d:", "bt": 1e12, "n": "temp", "v": 1}]), "timestamp")
ing("senml_kelvin", 3, json.dumps([{"bn": "d:", "n": "temp", "u": "K", "v": 294.55}]), "ok:1")
ing("senml_wrong_family", 3, json.dumps([{"bn": "d:", "n": "temp", "u": "%RH", "v": 3}]), "-")
ing("senml_must_understand", 3, json.dumps([{"bn": "d:", "n": "temp", "v": 1, "foo_": 1}]), "format")
ing("senml_bver_11", 3, json.dumps([{"bver": 11, "bn": "d:", "n": "temp", "v": 1}]), "format")
ing("senml_string_value_only", 3, json.dumps([{"bn": "d:", "n": "label", "vs": "hello"}]), "-")
ing("senml_v_string", 3, json.dumps([{"bn": "d:", "n": "temp", "v": "21"}]), "-")
ing("senml_not_array", 3, json.dumps({"n": "temp", "v": 1}), "-")
ing("senml_record_not_object", 3, "[1, \"x\", null, []]", "-")
ing("senml_empty_pack", 3, "[]", "-")
ing("senml_bv_overflow", 3, json.dumps([{"bn": "d:", "bv": 1.7e308, "n": "temp", "v": 1.7e308}]), "-")
ing("senml_many_sensors", 3, json.dumps([{"bn": "s%d:" % i, "n": "temp", "v": i} for i in range(40)]), "-")
ing("senml_many_records", 3, json.dumps([{"bn": "d:", "n": "m%d" % i, "v": i} for i in range(300)]), "-")
ing("senml_long_bn", 3, json.dumps([{"bn": "b" * 1000, "n": "temp", "v": 1}]), "-")
ing("senml_slash_names", 3, json.dumps([{"n": "a/b/c/d:e:f/temperature", "v": 1}]), "-")
ing("esphome_valid_temp", 4, "21.4", "-")
ing("esphome_valid_hum", 5, "40.5", "-")
ing("esphome_valid_press", 6, "101325", "-")
ing("esphome_fahrenheit", 7, "70.5", "-")
for name, p in [("nan", "nan"), ("NaN", "NaN"), ("inf", "inf"), ("neg_inf", "-inf"), ("empty", ""),
                ("spaces", "  21.4  "), ("overflow", "1e999"), ("unavailable", "unavailable"),
                ("unknown", "unknown"), ("comma", "21,4"), ("hex", "0x15"), ("json", '{"v":1}'),
                ("long", "1" * 100), ("nul", "21\x004"), ("plus", "+21.4"), ("trailing", "21.4abc")]:
    ing("esphome_" + name, 4, p, "-")
ing("topic_empty", "", '{"temperature":1}', "ignored")
ing("topic_unmatched", "foo/bar", '{"temperature":1}', "ignored")
ing("topic_native_bad_id", "sensors/a+b/readings", '{"temperature":1}', "sensor_id")
ing("topic_native_long_id", "sensors/" + "x" * 65 + "/readings", '{"temperature":1}', "sensor_id")
ing("topic_native_deep", "sensors/a/b/readings", '{"temperature":1}', "-")
ing("topic_z2m_long", "zigbee2mqtt/" + "n" * 300, '{"temperature":1}', "-")
ing("topic_z2m_utf8", "zigbee2mqtt/Wohnzimmer Ä", '{"temperature":1}', "ok:1")
ing("topic_z2m_set", "zigbee2mqtt/lamp/set", '{"state":"ON"}', "ignored")
ing("topic_z2m_deep", "zigbee2mqtt/a/b/c/d/e", '{"temperature":1}', "-")
ing("topic_z2m_empty_name", "zigbee2mqtt/", '{"temperature":1}', "-")
ing("topic_tasmota_wild", "tele/+/SENSOR", '{"SHT3X":{"Temperature":21}}', "-")
ing("topic_invalid_utf8", "zigbee2mqtt/\xff\xfe", '{"temperature":1}', "-")
for name, p, er, _ in JSON_NASTY:
    ing("native_" + name, 0, p, "-")
    ing("z2m_" + name, 1, p, "-")
    ing("tasmota_" + name, 2, p, "-")
    ing("senml_" + name, 3, p, "-")

# ---- alog: byte 0 % 3 picks the mode (fuzz_anomaly_log.c) ------------------------
L = "anomaly_log"
def record(sensor=b"demo", metric=b"temperature", ts_ms=(NOW * 1000 + 500), typ=0, value=1000.0,
           score=0.83, expl=b"temperature 1000 degC is above", sl=None, ml=None, el=None):
    sl = len(sensor) if sl is None else sl
    ml = len(metric) if ml is None else ml
    el = len(expl) if el is None else el
    return (bytes([sl & 255, ml & 255, (el >> 8) & 255, el & 255]) + sensor + b"\x00" + metric + b"\x00" +
            struct.pack(">qB", ts_ms, typ) + struct.pack(">d", value) + struct.pack(">d", score) + expl)


def abi_data(seq, rec, off=64, length=None):
    length = len(rec) if length is None else length
    pad = (-len(rec)) % 32
    return (seq.to_bytes(32, "big") + off.to_bytes(32, "big") + length.to_bytes(32, "big") + rec +
            b"\x00" * pad)


EVENT = "0x" + keccak256(b"AnomalyLogged(bytes32,bytes32,address,uint64,bytes)").hex()
LOGGER = "0x" + "00" * 12 + "90f8bf6a479f320ead074411a4b0e7944ea8c9c1"


def log_json(rec, seq=7, **over):
    sl, ml = rec[0], rec[1]
    pre = rec[4:4 + sl + 1 + ml + 1 + 9]
    d = {"address": "0x" + "11" * 20,
         "topics": [EVENT, "0x" + keccak256(pre).hex(), "0x" + keccak256(rec[4:4 + sl]).hex(), LOGGER],
         "data": "0x" + abi_data(seq, rec).hex(), "blockNumber": "0x2a", "logIndex": "0x3",
         "transactionHash": "0x" + "22" * 32, "transactionIndex": "0x0", "blockHash": "0x" + "33" * 32,
         "removed": False}
    for k, v in over.items():
        if v is KeyError:
            d.pop(k)
        else:
            d[k] = v
    return json.dumps(d).encode()


good_rec = record()
add(L, "json_valid", b"\x00" + log_json(good_rec), "ok")
add(L, "json_valid_max_lengths", b"\x00" + log_json(record(sensor=b"s" * 64, metric=b"m" * 31, expl=b"e" * 511)), "ok")
add(L, "json_removed", b"\x00" + log_json(good_rec, removed=True), "invalid")
add(L, "json_wrong_event", b"\x00" + log_json(good_rec, topics=["0x" + "00" * 32] * 4), "invalid")
add(L, "json_three_topics", b"\x00" + log_json(good_rec, topics=[EVENT, "0x" + "00" * 32, "0x" + "00" * 32]), "invalid")
bad_topics = json.loads(log_json(good_rec))["topics"]
bad_topics[1] = "0x" + "00" * 32
add(L, "json_id_mismatch", b"\x00" + log_json(good_rec, topics=bad_topics), "invalid")
bad_topics = json.loads(log_json(good_rec))["topics"]
bad_topics[2] = "0x" + "00" * 32
add(L, "json_sensor_mismatch", b"\x00" + log_json(good_rec, topics=bad_topics), "invalid")
bad_topics = json.loads(log_json(good_rec))["topics"]
bad_topics[3] = "0x" + "ff" * 32
add(L, "json_logger_not_address", b"\x00" + log_json(good_rec, topics=bad_topics), "invalid")
add(L, "json_data_odd_length", b"\x00" + log_json(good_rec, data="0x123"), "invalid")
add(L, "json_data_not_hex", b"\x00" + log_json(good_rec, data="0x" + "zz" * 100), "invalid")
add(L, "json_data_empty", b"\x00" + log_json(good_rec, data="0x"), "invalid")
add(L, "json_data_number", b"\x00" + log_json(good_rec, data=5), "invalid")
add(L, "json_data_missing", b"\x00" + log_json(good_rec, data=KeyError), "invalid")
add(L, "json_block_missing", b"\x00" + log_json(good_rec, blockNumber=KeyError), "invalid")
add(L, "json_block_overflow", b"\x00" + log_json(good_rec, blockNumber="0x1" + "0" * 16), "invalid")
add(L, "json_log_index_overflow", b"\x00" + log_json(good_rec, logIndex="0x100000000"), "invalid")
add(L, "json_block_decimal", b"\x00" + log_json(good_rec, blockNumber="42"), "invalid")
add(L, "json_txhash_short", b"\x00" + log_json(good_rec, transactionHash="0x12"), "ok")
add(L, "json_topics_not_array", b"\x00" + log_json(good_rec, topics="x"), "invalid")
add(L, "json_topic_numbers", b"\x00" + log_json(good_rec, topics=[1, 2, 3, 4]), "invalid")
add(L, "json_not_object", b"\x00[]", "invalid")
add(L, "json_data_huge_offset", b"\x00" + log_json(good_rec, data="0x" + abi_data(7, good_rec, off=2 ** 63).hex()), "invalid")
add(L, "json_data_huge_length", b"\x00" + log_json(good_rec, data="0x" + abi_data(7, good_rec, length=2 ** 64 - 1).hex()), "invalid")
add(L, "json_data_length_past_end", b"\x00" + log_json(good_rec, data="0x" + abi_data(7, good_rec, length=len(good_rec) + 33).hex()), "invalid")
add(L, "json_data_seq_overflow", b"\x00" + log_json(good_rec, data="0x" + ("01" + "00" * 31) + abi_data(7, good_rec).hex()[64:]), "invalid")
for name, p, _, _ in JSON_NASTY:
    add(L, "json_" + name, b"\x00" + p, "invalid")
# mode 1: records
add(L, "rec_valid", b"\x01" + good_rec, "-")
add(L, "rec_max", b"\x01" + record(sensor=b"s" * 64, metric=b"m" * 31, expl=b"e" * 511), "-")
add(L, "rec_sensor_0", b"\x01" + record(sensor=b"", sl=0), "-")
add(L, "rec_sensor_65", b"\x01" + record(sensor=b"s" * 65), "-")
add(L, "rec_metric_32", b"\x01" + record(metric=b"m" * 32), "-")
add(L, "rec_expl_512", b"\x01" + record(expl=b"e" * 512), "-")
add(L, "rec_len_lies_long", b"\x01" + record(sl=60), "-")
add(L, "rec_len_lies_short", b"\x01" + record(el=3), "-")
add(L, "rec_nul_in_sensor", b"\x01" + record(sensor=b"de\x00o"), "-")
add(L, "rec_type_3", b"\x01" + record(typ=3), "-")
add(L, "rec_nan_value", b"\x01" + record(value=float("nan")), "-")
add(L, "rec_inf_score", b"\x01" + record(score=float("inf")), "-")
add(L, "rec_ts_min", b"\x01" + record(ts_ms=-2 ** 63), "-")
add(L, "rec_ts_max", b"\x01" + record(ts_ms=2 ** 63 - 1), "-")
add(L, "rec_sensor_slash", b"\x01" + record(sensor=b"a/b/#"), "-")
add(L, "rec_invalid_utf8_expl", b"\x01" + record(expl=b"\xff\xfe\xc3"), "-")
add(L, "rec_truncated", b"\x01" + good_rec[:20], "-")
add(L, "rec_short", b"\x01\x04", "-")
# mode 2: ABI data
add(L, "data_valid", b"\x02" + abi_data(7, good_rec), "-")
add(L, "data_offset_self", b"\x02" + abi_data(7, good_rec, off=32), "-")
add(L, "data_offset_end", b"\x02" + abi_data(7, good_rec, off=96 + 96), "-")
add(L, "data_length_max", b"\x02" + abi_data(7, good_rec, length=2 ** 64 - 1), "-")
add(L, "data_short", b"\x02" + b"\x00" * 95, "-")

# ---- rpc: byte 0 flags (bit 0 u64 call, bit 1 HTTP 500), byte 1 chunk size
P = "rpc"
def rpc(name, body, expect="-", u64=False, status500=False, chunk=0):
    if isinstance(body, str):
        body = body.encode()
    add(P, name, bytes([(1 if u64 else 0) | (2 if status500 else 0), chunk]) + body, expect)

rpc("valid_result", '{"jsonrpc":"2.0","id":1,"result":[{"a":1}]}', "ok")
rpc("valid_null_result", '{"jsonrpc":"2.0","id":1,"result":null}', "ok")
rpc("valid_chunked_1", '{"jsonrpc":"2.0","id":1,"result":"0x1b4"}', "ok", chunk=1)
rpc("u64_valid", '{"jsonrpc":"2.0","id":1,"result":"0x1b4"}', "ok", u64=True)
rpc("u64_zero", '{"jsonrpc":"2.0","id":1,"result":"0x0"}', "ok", u64=True)
rpc("u64_max", '{"jsonrpc":"2.0","id":1,"result":"0xffffffffffffffff"}', "ok", u64=True)
rpc("u64_overflow", '{"jsonrpc":"2.0","id":1,"result":"0x10000000000000000"}', "parse", u64=True)
rpc("u64_leading_zeros", '{"jsonrpc":"2.0","id":1,"result":"0x00000000000000000001"}', "-", u64=True)
rpc("u64_empty", '{"jsonrpc":"2.0","id":1,"result":"0x"}', "parse", u64=True)
rpc("u64_no_prefix", '{"jsonrpc":"2.0","id":1,"result":"1b4"}', "-", u64=True)
rpc("u64_negative", '{"jsonrpc":"2.0","id":1,"result":"-0x1"}', "parse", u64=True)
rpc("u64_number", '{"jsonrpc":"2.0","id":1,"result":436}', "parse", u64=True)
rpc("u64_not_hex", '{"jsonrpc":"2.0","id":1,"result":"0xzz"}', "parse", u64=True)
rpc("u64_space", '{"jsonrpc":"2.0","id":1,"result":"0x 1"}', "parse", u64=True)
rpc("u64_null", '{"jsonrpc":"2.0","id":1,"result":null}', "parse", u64=True)
rpc("error_object", '{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"nonce too low"}}', "remote")
rpc("error_no_message", '{"jsonrpc":"2.0","id":1,"error":{"code":-32000}}', "remote")
rpc("error_message_number", '{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":5}}', "remote")
rpc("error_string", '{"jsonrpc":"2.0","id":1,"error":"boom"}', "remote")
rpc("error_empty_message", '{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":""}}', "remote")
rpc("error_long_message", '{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"%s"}}' % ("m" * 5000), "remote")
rpc("error_null_with_result", '{"jsonrpc":"2.0","id":1,"error":null,"result":"0x1"}', "ok")
rpc("error_and_result", '{"jsonrpc":"2.0","id":1,"error":{"message":"x"},"result":"0x1"}', "remote")
rpc("neither", '{"jsonrpc":"2.0","id":1}', "parse")
rpc("not_object", '[{"jsonrpc":"2.0","id":1,"result":"0x1"}]', "parse")
rpc("empty_body", "", "parse")
rpc("html", "<html><body>502 Bad Gateway</body></html>", "parse")
rpc("status_500", '{"jsonrpc":"2.0","id":1,"result":"0x1"}', "transport", status500=True)
rpc("duplicate_result", '{"jsonrpc":"2.0","id":1,"result":"0x1","result":"0x2"}', "parse")
rpc("deep_result", '{"jsonrpc":"2.0","id":1,"result":' + "[" * 3000 + "]" * 3000 + "}", "parse")
rpc("nan_result", '{"jsonrpc":"2.0","id":1,"result":NaN}', "parse")
rpc("invalid_utf8", b'{"jsonrpc":"2.0","id":1,"result":"\xff"}', "parse")
for name, p, _, _ in JSON_NASTY:
    rpc("body_" + name, p, "-")


# ---- gateway: byte 0 % 7 picks the entry point (tests/fuzz/nasty_gw.h) -----
G = "gateway"
TOKEN = "s3cret-token-do-not-echo"
def api(name, reqline, body=b"", auth="", expect="-"):
    if isinstance(body, str):
        body = body.encode()
    add(G, "api_" + name, b"\x00" + reqline.encode() + b"\n" + auth.encode() + b"\n" + body, expect)

GOOD_AUTH = "Bearer " + TOKEN
api("healthz", "G /healthz", expect="status:503")
api("metrics", "G /metrics", expect="status:200")
api("chain", "G /api/chain", expect="status:200")
api("openapi", "G /api/openapi.json", expect="status:200")
api("openapi_post", "P /api/openapi.json", expect="status:405")
api("sensors", "G /api/sensors", expect="status:200")
api("anomalies", "G /api/anomalies?limit=10", expect="status:200")
api("anomalies_limit_0", "G /api/anomalies?limit=0", expect="status:400")
api("anomalies_limit_1001", "G /api/anomalies?limit=1001", expect="status:400")
api("anomalies_limit_text", "G /api/anomalies?limit=abc", expect="status:400")
api("anomalies_limit_negative", "G /api/anomalies?limit=-1", expect="status:400")
api("anomalies_limit_huge", "G /api/anomalies?limit=99999999999999999999999", expect="status:400")
api("anomalies_since_nan", "G /api/anomalies?since=NaN", expect="status:400")
api("anomalies_since_inf", "G /api/anomalies?since=1e999", expect="status:400")
api("anomalies_since_negative", "G /api/anomalies?since=-5", expect="-")
api("anomalies_until_text", "G /api/anomalies?until=yesterday", expect="status:400")
api("anomalies_type_unknown", "G /api/anomalies?type=spike", expect="status:400")
api("anomalies_type_ok", "G /api/anomalies?type=point", expect="status:200")
api("anomalies_sensor_bad", "G /api/anomalies?sensor_id=a/b", expect="status:400")
api("anomalies_cursor_ok", "G /api/anomalies?cursor=12-3", expect="status:200")
api("anomalies_cursor_bad", "G /api/anomalies?cursor=12x3", expect="status:400")
api("anomalies_dup_args", "G /api/anomalies?limit=1&limit=2", expect="-")
api("anomalies_unknown_arg", "G /api/anomalies?foo=bar", expect="-")
api("args_17", "G /api/anomalies?" + "&".join("a%d=1" % i for i in range(17)), expect="status:400")
api("arg_value_300", "G /api/anomalies?sensor_id=" + "x" * 300, expect="status:400")
api("arg_name_40", "G /api/anomalies?" + "n" * 40 + "=1", expect="status:400")
api("anomaly_one_bad_id", "G /api/anomalies/xyz", expect="status:400")
api("anomaly_one_no_chain", "G /api/anomalies/" + "ab" * 32, expect="-")
api("sensor_readings_unknown", "G /api/sensors/nope/readings", expect="status:404")
api("sensor_readings_bad_since", "G /api/sensors/nope/readings?since=abc", expect="-")
api("sensor_readings_long_id", "G /api/sensors/" + "x" * 100 + "/readings", expect="status:404")
api("sensor_readings_slash_id", "G /api/sensors/a/b/readings", expect="status:404")
api("api_unknown", "G /api/secret", expect="status:404")
api("method_other_on_api", "X /api/anomalies", expect="status:405")
api("get_readings", "G /api/readings", expect="status:405")
api("static_index", "G /", expect="status:200")
api("static_traversal", "G /../../etc/passwd", expect="status:404")
api("static_encoded_traversal", "G /%2e%2e/%2e%2e/etc/passwd", expect="status:404")
api("static_hidden", "G /.env", expect="status:404")
api("static_vendor", "G /vendor/uplot/uPlot.min.js", expect="status:200")
api("static_vendor_traversal", "G /vendor/uplot/../../../etc/shadow", expect="status:404")
api("static_backslash", "G /..\\..\\etc\\passwd", expect="status:404")
api("static_nul", "G /index.html\x00.png", expect="-")
api("path_empty", "G ", expect="-")
api("path_long", "G /" + "a" * 1900 + ".js", expect="status:404")
READ = '{"sensor_id":"s1","temperature":21.5}'
api("post_no_auth", "P /api/readings", READ, "", "status:401")
api("post_wrong_token", "P /api/readings", READ, "Bearer wrong", "status:401")
api("post_token_prefix", "P /api/readings", READ, "Bearer " + TOKEN[:-1], "status:401")
api("post_token_longer", "P /api/readings", READ, GOOD_AUTH + "x", "status:401")
api("post_basic_auth", "P /api/readings", READ, "Basic " + TOKEN, "status:401")
api("post_token_no_scheme", "P /api/readings", READ, TOKEN, "status:401")
api("post_token_lowercase_scheme", "P /api/readings", READ, "bearer " + TOKEN, "status:202")
api("post_ok", "P /api/readings", READ, GOOD_AUTH, "status:202")
api("post_ok_list", "P /api/readings", "[" + ",".join([READ] * 3) + "]", GOOD_AUTH, "status:202")
api("post_list_101", "P /api/readings", "[" + ",".join([READ] * 101) + "]", GOOD_AUTH, "status:413")
api("post_list_empty", "P /api/readings", "[]", GOOD_AUTH, "status:400")
api("post_empty", "P /api/readings", "", GOOD_AUTH, "status:400")
api("post_too_big", "P /api/readings", '{"sensor_id":"s1","temperature":1,"pad":"' + "x" * 66000 + '"}', GOOD_AUTH, "status:413")
api("post_nan", "P /api/readings", '{"sensor_id":"s1","temperature":NaN}', GOOD_AUTH, "status:400")
api("post_1e999", "P /api/readings", '{"sensor_id":"s1","temperature":1e999}', GOOD_AUTH, "status:400")
api("post_dbl_max", "P /api/readings", '{"sensor_id":"s1","temperature":1.7976931348623157e308}', GOOD_AUTH, "-")
api("post_no_sensor", "P /api/readings", '{"temperature":21}', GOOD_AUTH, "status:400")
api("post_bad_sensor", "P /api/readings", '{"sensor_id":"a/+/#","temperature":21}', GOOD_AUTH, "status:400")
api("post_sensor_number", "P /api/readings", '{"sensor_id":5,"temperature":21}', GOOD_AUTH, "status:400")
api("post_no_metric", "P /api/readings", '{"sensor_id":"s1"}', GOOD_AUTH, "status:400")
api("post_ts_future", "P /api/readings", '{"sensor_id":"s1","ts":4102444800,"temperature":21}', GOOD_AUTH, "status:400")
api("post_ts_negative", "P /api/readings", '{"sensor_id":"s1","ts":-1,"temperature":21}', GOOD_AUTH, "status:400")
api("post_string", "P /api/readings", '"hello"', GOOD_AUTH, "status:400")
api("post_deep", "P /api/readings", "[" * 5000 + "]" * 5000, GOOD_AUTH, "status:400")
api("post_invalid_utf8", "P /api/readings", b'{"sensor_id":"s\xff","temperature":21}', GOOD_AUTH, "status:400")
api("post_list_one_bad", "P /api/readings", "[" + READ + ',{"sensor_id":"s2","temperature":"x"}]', GOOD_AUTH, "status:400")
api("post_9_metrics", "P /api/readings", '{"sensor_id":"s1",' + ",".join('"m%d":1' % i for i in range(9)) + "}", GOOD_AUTH, "status:400")
api("post_dup_key", "P /api/readings", '{"sensor_id":"s1","temperature":1,"temperature":2}', GOOD_AUTH, "status:400")
api("options_readings", "O /api/readings", "", "", "status:405")
def ws(name, msg, expect="-"):
    add(G, "ws_" + name, b"\x01" + (msg.encode() if isinstance(msg, str) else msg), expect)
ws("subscribe", '{"subscribe":{"sensors":["a","b"],"types":["anomaly","logged"]}}', "ok")
ws("subscribe_all", '{"subscribe":{}}', "ok")
ws("subscribe_null_sensors", '{"subscribe":{"sensors":null}}', "ok")
ws("subscribe_readings", '{"subscribe":{"types":["reading"]}}', "ok")
ws("types_empty", '{"subscribe":{"types":[]}}', "-")
ws("types_unknown", '{"subscribe":{"types":["everything"]}}', "invalid")
ws("types_not_array", '{"subscribe":{"types":"anomaly"}}', "invalid")
ws("sensors_257", '{"subscribe":{"sensors":[' + ",".join('"s%d"' % i for i in range(257)) + "]}}", "invalid")
ws("sensors_256", '{"subscribe":{"sensors":[' + ",".join('"s%d"' % i for i in range(256)) + "]}}", "ok")
ws("sensor_invalid", '{"subscribe":{"sensors":["a/#"]}}', "invalid")
ws("sensor_number", '{"subscribe":{"sensors":[1]}}', "invalid")
ws("sensor_65", '{"subscribe":{"sensors":["%s"]}}' % ("s" * 65), "invalid")
ws("subscribe_number", '{"subscribe":1}', "invalid")
ws("unknown_command", '{"publish":{"topic":"sensors/x/readings"}}', "invalid")
ws("empty_object", "{}", "invalid")
ws("not_json", "subscribe me", "invalid")
ws("empty", "", "invalid")
ws("nan", '{"subscribe":{"sensors":[NaN]}}', "invalid")
ws("deep", "[" * 5000 + "]" * 5000, "invalid")
ws("invalid_utf8", b'{"subscribe":{"sensors":["\xff"]}}', "invalid")
ws("dup_key", '{"subscribe":{},"subscribe":{}}', "-")
def feed(name, topic, payload, expect="-"):
    add(G, "feed_" + name, b"\x02" + topic.encode() + b"\n" + (payload.encode() if isinstance(payload, str) else payload), expect)
feed("reading", "sensors/s1/readings", '{"temperature":21.5}', "ok")
feed("reading_nan", "sensors/s1/readings", '{"temperature":NaN}', "none")
feed("reading_z2m", "zigbee2mqtt/Living Room", '{"temperature":21.5,"humidity":40}', "ok")
feed("reading_bad_topic", "sensors/a+b/readings", '{"temperature":21.5}', "none")
feed("anomaly", "anomalies/demo", anom(), "ok")
feed("anomaly_invalid", "anomalies/demo", '{"id":"x"}', "none")
feed("anomaly_topic_mismatch", "anomalies/other", anom(), "-")
feed("anomaly_long_expl", "anomalies/demo", anom(explanation="é" * 300), "-")
LOGGED = '{"id":"%s","tx_hash":"0x%s","block_number":42,"log_index":3}' % ("ab" * 32, "cd" * 32)
feed("logged", "chain/logged/demo", LOGGED, "ok")
feed("logged_invalid", "chain/logged/demo", '{"id":1}', "none")
feed("logged_bad_sensor", "chain/logged/a+b", LOGGED, "none")
feed("unknown_topic", "foo/bar", '{"temperature":1}', "none")
feed("empty_topic", "", '{"temperature":1}', "none")
def logged(name, sensor, payload, expect="-"):
    add(G, "logged_" + name, b"\x03" + sensor.encode() + b"\n" + payload.encode(), expect)
logged("valid", "demo", LOGGED, "ok")
logged("no_log_index", "demo", '{"id":"%s","tx_hash":"0x%s","block_number":42}' % ("ab" * 32, "cd" * 32), "ok")
logged("id_short", "demo", LOGGED.replace("ab" * 32, "ab" * 31), "invalid")
logged("id_missing", "demo", '{"tx_hash":"0x%s","block_number":42}' % ("cd" * 32), "invalid")
logged("tx_short", "demo", LOGGED.replace("cd" * 32, "cd" * 3), "invalid")
logged("tx_no_0x", "demo", LOGGED.replace('"0x' + "cd" * 32, '"' + "cd" * 32 + "ab"), "invalid")
logged("block_negative", "demo", LOGGED.replace("42", "-1"), "invalid")
logged("block_string", "demo", LOGGED.replace("42", '"42"'), "invalid")
logged("block_float", "demo", LOGGED.replace("42", "4.2"), "invalid")
logged("block_huge", "demo", LOGGED.replace("42", "1e30"), "invalid")
logged("unchecked_sensor", "a/b", LOGGED, "-")  # not called: on_logged validates the id
logged("not_json", "demo", "tx mined", "invalid")
logged("nan", "demo", LOGGED.replace("42", "NaN"), "invalid")
def static(name, path, expect):
    add(G, "static_" + name, b"\x04" + path.encode(), expect)
static("root", "/", "ok")
static("index", "/index.html", "ok")
static("js", "/app.js", "ok")
static("vendor", "/vendor/uplot/uPlot.min.js", "ok")
static("traversal", "/../etc/passwd", "refused")
static("traversal_mid", "/a/../../etc/passwd.js", "refused")
static("vendor_traversal", "/vendor/uplot/../../../etc/x.css", "refused")
static("double_slash", "/a//b.js", "refused")
static("hidden", "/.git/config", "refused")
static("hidden_mid", "/a/.secret.js", "refused")
static("backslash", "/..\\..\\x.js", "refused")
static("percent", "/%2e%2e/x.js", "refused")
static("unknown_ext", "/x.exe", "refused")
static("no_ext", "/README", "refused")
static("relative", "index.html", "refused")
static("long", "/" + "a" * 300 + ".js", "refused")
static("utf8", "/é.js", "refused")
static("trailing_slash", "/dir/", "refused")
def origin(name, policy, org, host, expect):
    add(G, "origin_" + name, b"\x05" + ("%s\n%s\n%s" % (policy, org, host)).encode(), expect)
origin("same", "", "http://localhost:8080", "localhost:8080", "allowed")
origin("cross", "", "http://evil.example", "localhost:8080", "refused")
origin("none", "", "", "localhost:8080", "allowed")
origin("star", "*", "http://evil.example", "localhost:8080", "allowed")
origin("listed", "https://a.example,http://localhost:3000", "http://localhost:3000", "gw:8080", "allowed")
origin("listed_prefix", "https://a.example,http://localhost:3000", "http://localhost:30001", "gw:8080", "refused")
origin("listed_suffix", "https://a.example,http://localhost:3000", "http://localhost:3000.evil.com", "gw:8080", "refused")
origin("listed_substring", "https://a.example", "https://a.exampl", "gw:8080", "refused")
origin("null_origin", "", "null", "localhost:8080", "refused")
origin("scheme_only_differs", "", "https://localhost:8080", "localhost:8080", "-")
origin("userinfo", "", "http://localhost:8080@evil.example", "localhost:8080", "refused")
origin("host_prefix", "", "http://localhost:80", "localhost:8080", "refused")
origin("empty_host", "", "http://", "", "-")
def cursor(name, c, expect):
    add(G, "cursor_" + name, b"\x06" + c.encode(), expect)
cursor("ok", "12-3", "ok")
cursor("zero", "0-0", "ok")
cursor("empty", "", "invalid")
cursor("negative", "-1-2", "invalid")
cursor("block_overflow", "18446744073709551616-0", "invalid")
cursor("log_overflow", "1-4294967296", "invalid")
cursor("trailing", "1-2x", "invalid")
cursor("no_dash", "12", "invalid")
cursor("spaces", " 1-2", "invalid")
cursor("plus", "+1-2", "invalid")
cursor("hex", "0x1-2", "invalid")

# ---- write ----------------------------------------------------------------
def main():
    for h in sorted({s[0] for s in seeds}):
        d = os.path.join(OUT, h)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
    names = set()
    with open(os.path.join(OUT, "EXPECTED"), "w") as ex:
        ex.write("# <harness>/<file> <expected outcome>; written by tests/fuzz/seeds.py\n")
        for h, name, data, expect in seeds:
            key = h + "/" + name
            assert key not in names, key
            names.add(key)
            with open(os.path.join(OUT, h, name), "wb") as f:
                f.write(data)
            ex.write("%s %s\n" % (key, expect))
    print("wrote %d seeds" % len(seeds))


main()
