"""Issue 15: defaults that reach the answer, names, advice, verdicts, "auto"."""

from __future__ import annotations

import numpy as np
import pytest

from descend import functions, minimize, multistart, sweep
from descend.errors import FormulaError


@pytest.mark.parametrize("name", functions.names())
def test_defaults_converge_from_every_catalog_start(name):
    tf = functions.get(name)
    res = minimize(tf, tf.x0)
    assert res.success, res.message
    by_name = minimize(name, tf.x0)
    assert by_name.success and by_name.nit == res.nit
    np.testing.assert_allclose(by_name.x, res.x, rtol=1e-12, atol=1e-12)


def test_multistart_with_defaults_finds_himmelblau_four_minima():
    ms = multistart("himmelblau", 1000, bounds=[(-5, 5), (-5, 5)], seed=0)
    assert ms.n_converged == 1000
    assert len(ms.minima) == 4
    found = np.array(sorted(m.x.round(4).tolist() for m in ms.minima))
    want = np.array(sorted(np.round(functions.get("himmelblau").minima, 4).tolist()))
    np.testing.assert_allclose(found, want, atol=1e-3)


@pytest.mark.parametrize("text", ["rosenbrok", "himmelblao", "sinn", "expp"])
def test_near_miss_names_are_refused_everywhere(text):
    for call in (lambda: minimize(text, [1.0]), lambda: sweep(text, [1.0], [0.1]),
                 lambda: multistart(text, [[1.0], [2.0]])):
        with pytest.raises(FormulaError, match="did you mean"):
            call()
