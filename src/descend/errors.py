"""Errors and warnings raised by descend.

Every error a user can cause derives from :class:`DescendError` and from the
built-in class a Python user expects (``ValueError`` or ``TypeError``), so
``except ValueError`` keeps working. Messages name the argument, show the value
and say what was expected.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConvergenceWarning",  # noqa: F822 - built on first use by __getattr__
    "DataError",
    "DescendError",
    "DescendWarning",
    "ExportError",
    "FormulaError",
    "InvalidArgument",
    "InvalidType",
    "UnderdeterminedWarning",
]


class DescendError(Exception):
    """Base class of every error descend raises on purpose."""


class InvalidArgument(DescendError, ValueError):
    """An argument has the right type but a value descend cannot use.

    Parameters
    ----------
    message : str
        The whole message; by convention it starts with the argument's name.
    argument : str, optional
        The name of the offending argument, kept for programs that inspect it.
    """

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class InvalidType(DescendError, TypeError):
    """An argument has a type descend cannot use."""

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class ExportError(DescendError, RuntimeError):
    """A figure could not be written (no browser for static images, kaleido failed).

    The message says what to install; nothing is left at the target path.
    """


class DataError(InvalidArgument):
    """A table or array holds values descend cannot fit (NaN, inf, text, ...)."""


class FormulaError(InvalidArgument):
    """A formula string was rejected by the parser.

    Attributes
    ----------
    text : str
        The text that was parsed.
    position : int or None
        0-based character offset of the problem in ``text`` when known.
    reason : str
        The one-line reason, without the caret line.
    """

    def __init__(self, reason: str, *, text: str = "", position: int | None = None) -> None:
        self.reason = reason
        self.text = text
        self.position = position
        super().__init__(self._render(), argument="formula")

    def _render(self) -> str:
        where = f" (at position {self.position})" if self.position is not None else ""
        msg = f"formula: {self.reason}{where}"
        shown = self.text if len(self.text) <= 120 and self.text.isprintable() else ""
        if shown and self.position is not None and 0 <= self.position <= len(shown):
            msg += f"\n  {shown}\n  {' ' * self.position}^"
        return msg

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_formula_error, (self.reason, self.text, self.position))


def _rebuild_formula_error(reason: str, text: str, position: int | None) -> FormulaError:
    return FormulaError(reason, text=text, position=position)


class DescendWarning(UserWarning):
    """Base class of descend's warnings."""


class UnderdeterminedWarning(DescendWarning):
    """A model was fitted on fewer rows than it has coefficients: many fit equally well."""


def __getattr__(name: str) -> Any:
    """``ConvergenceWarning`` is built on first use: it subclasses scikit-learn's,
    and importing scikit-learn takes over a second that most uses never need."""
    if name == "ConvergenceWarning":
        from sklearn.exceptions import ConvergenceWarning as _SkConvergenceWarning

        cls = type(
            "ConvergenceWarning",
            (_SkConvergenceWarning, DescendWarning),
            {"__doc__": "A fit stopped before converging; a subclass of scikit-learn's.",
             "__module__": __name__},
        )
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
