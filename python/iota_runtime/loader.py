"""Importing rule and data-model files as Python modules.

A module is registered under its file stem, so that rules can import one another and tools
such as dataclasses or unittest.mock find it in sys.modules. When the stem is taken (another
rule with the same file name, a helper, a stdlib module) or would shadow a module importable
from elsewhere, the file is imported under a private name instead, e.g. `_iota_rule_3_json`.
"""

import importlib.util
import os
import sys


def _is_this_file(name, path):
    """True when `import name` would resolve to `path` itself (or to nothing at all)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return True
    origin = spec.origin
    return bool(origin) and os.path.realpath(origin) == os.path.realpath(path)


def module_name(path, private_name):
    """The name to register the module at `path` under."""
    stem = os.path.splitext(os.path.basename(path))[0]
    if stem.isidentifier() and stem not in sys.modules and _is_this_file(stem, path):
        return stem
    return private_name


def import_file(path, private_name):
    """Execute the Python file at `path` as a new module and return it. Whatever the file
    raises at import time propagates (including SystemExit); the module is then unregistered."""
    name = module_name(path, private_name)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
