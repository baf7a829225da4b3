"""JSON encoding and decoding for the runtime: orjson when importable, the stdlib otherwise.

Both back ends produce compact UTF-8 bytes and refuse what the Rust side could not read back
(NaN/Infinity with the stdlib, lone surrogates with either), so a frame that was encoded is a
frame iota can parse. Wrapped event values serialise as the data they wrap.
"""

from .event import json_default

try:
    import orjson
except ImportError:
    orjson = None

if orjson is not None:
    NAME = "orjson"
    loads = orjson.loads

    def dumps(value):
        """Compact UTF-8 JSON bytes."""
        return orjson.dumps(value, default=json_default)

    def dumps_lenient_keys(value):
        """Like dumps, but non-string dict keys (ints, floats, bools, None) become strings,
        as the stdlib does; used for rule-produced data such as alert_context."""
        return orjson.dumps(value, default=json_default, option=orjson.OPT_NON_STR_KEYS)

else:
    import json

    NAME = "json"
    loads = json.loads
    _ENCODER = json.JSONEncoder(
        default=json_default, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )

    def dumps(value):
        """Compact UTF-8 JSON bytes."""
        return _ENCODER.encode(value).encode("utf-8")

    dumps_lenient_keys = dumps
