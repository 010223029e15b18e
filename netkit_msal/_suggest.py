"""The "did you mean" suggestion for a misspelled key, shared by every checker of user objects.

A leaf module (it imports nothing from the package) so that the parameter object, the ``cache`` parameter
and the Office365 option objects can all use it without importing each other, and all suggest alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Optional


def suggest_key(key: str, known: Iterable[str]) -> Optional[str]:
    """The known key closest to ``key`` (case and ``_``/``-`` ignored first, then difflib), or None."""
    import difflib  # only for a mistake: not on every checked parameter object

    candidates = list(known)
    squashed = re.sub(r"[_\-\s]", "", key).lower()
    for candidate in candidates:
        if candidate.lower() == squashed:
            return candidate
    lowered = {candidate.lower(): candidate for candidate in candidates}
    match = difflib.get_close_matches(squashed, list(lowered), n=1, cutoff=0.7)
    return lowered[match[0]] if match else None
