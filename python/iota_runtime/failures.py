"""How exceptions raised by rule code are reported: a one-line error and a traceback that
starts at the rule's own code (the runtime's and importlib's leading frames are dropped).
Both are bounded so that one pathological exception cannot bloat a results frame.
"""

import os
import traceback

MAX_ERROR_CHARS = 4000
MAX_TRACEBACK_CHARS = 32000

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _is_plumbing(frame_code):
    filename = frame_code.co_filename
    return filename.startswith(_RUNTIME_DIR) or filename.startswith("<frozen importlib")


def clean_text(text):
    """`text` as valid UTF-8: a rule can build strings with lone surrogates, which no JSON
    encoder (and no Rust string) accepts."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def describe(exc):
    """(error, traceback) for an exception, e.g. ("ZeroDivisionError: division by zero", ...)."""
    try:
        error = traceback.format_exception_only(type(exc), exc)[-1].strip()
        tb = exc.__traceback__
        while tb is not None and _is_plumbing(tb.tb_frame.f_code):
            tb = tb.tb_next
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException:  # formatting can fail too (MemoryError, a broken __str__ ...)
        error, text = type(exc).__name__, ""
    if len(error) > MAX_ERROR_CHARS:
        error = error[:MAX_ERROR_CHARS] + "..."
    if len(text) > MAX_TRACEBACK_CHARS:
        text = "...\n" + text[-MAX_TRACEBACK_CHARS:]
    return clean_text(error), clean_text(text)
