"""The `panther_core` names Panther rules import, provided by iota: `PantherEvent`, the
event object of SPEC 3.2 (iota_runtime.event), for type hints and for building events in
rule tests.
"""

from iota_runtime.event import ImmutableCaseInsensitiveDict, ImmutableList, PantherEvent

__all__ = ["ImmutableCaseInsensitiveDict", "ImmutableList", "PantherEvent"]
