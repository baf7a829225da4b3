"""JSON encoding and decoding for the runtime: orjson when importable, the stdlib otherwise.

Both back ends produce compact UTF-8 bytes and refuse what the Rust side could not read back
(lone surrogates), so a frame that was encoded is a frame iota can parse. In rule-produced
data (`dumps_lenient_keys`) both write NaN and the infinities as null, which is what JSON can
say of them. Wrapped event values serialise as the data they wrap.
"""

import math

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

    def dumps_lenient_keys(value):
        """Like dumps, for rule-produced data: NaN and the infinities become null, as orjson
        writes them (the stdlib already turns non-string keys into strings)."""
        try:
            return dumps(value)
        except ValueError:
            return dumps(_finite(value))

    def _finite(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {key: _finite(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [_finite(item) for item in value]
        return value
