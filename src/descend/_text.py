"""Words for messages: one rule for singular and plural, used by every message.

``count(1, "iteration")`` is ``'1 iteration'`` and ``count(3, "iteration")`` is
``'3 iterations'``; ``plural`` gives the word alone, for sentences whose verb must agree
("row 4 holds" / "rows 4, 9 hold"). Nothing here imports anything, so any module
(the message table in :mod:`descend.result` included) may use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["count", "listing", "plural"]

_IRREGULAR = {"has": "have", "holds": "hold", "is": "are", "was": "were", "does": "do",
              "matrix": "matrices", "index": "indices", "this": "these", "epoch": "epochs"}


def plural(n: Any, word: str, many: str | None = None) -> str:
    """``word`` when ``n`` is exactly one, else its plural (``many``, or the usual rule).

    The rule: a few irregular words (``is -> are``, ``has -> have``, ``holds -> hold``,
    ``index -> indices``, ``epoch -> epochs``), then ``-s/-x/-z/-ch/-sh -> -es``,
    consonant + ``y -> -ies``, else ``+s``.

    Examples
    --------
    >>> plural(1, "row"), plural(0, "row"), plural(2, "holds"), plural(2, "entry")
    ('row', 'rows', 'hold', 'entries')
    """
    if _is_one(n):
        return word
    if many is not None:
        return many
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if len(word) > 1 and word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def count(n: Any, word: str, many: str | None = None) -> str:
    """``'1 iteration'``, ``'0 iterations'``, ``'100,000 rows'`` (integers from 10,000
    up get a comma every three digits; other numbers print as given).

    Examples
    --------
    >>> count(1, "iteration"), count(12, "epoch"), count(100000, "row")
    ('1 iteration', '12 epochs', '100,000 rows')
    """
    shown = f"{n:,}" if isinstance(n, int) and abs(n) >= 10_000 else f"{n}"
    return f"{shown} {plural(n, word, many)}"


def listing(items: Sequence[Any], *, most: int = 5, quote: bool = False) -> str:
    """``'a, b and 3 more'``: at most ``most`` items, then how many were left out.

    Examples
    --------
    >>> listing([0, 4, 9]), listing(list(range(8)), most=3), listing(["y"], quote=True)
    ('0, 4, 9', '0, 1, 2 and 5 more', "'y'")
    """
    shown = [repr(v) if quote else str(v) for v in list(items)[:most]]
    more = len(items) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _is_one(n: Any) -> bool:
    try:
        return bool(abs(n) == 1)
    except TypeError:
        return False
