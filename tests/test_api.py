from __future__ import annotations

import subprocess
import sys

import pytest

import descend


@pytest.mark.parametrize("name", descend.__all__)
def test_every_exported_name_imports(name):
    assert getattr(descend, name) is not None


def test_contract_names_exist():
    from descend import (  # noqa: F401
        Formula,
        GDRegressor,
        Result,
        Status,
        minimize,
        multistart,
        parse,
        read_table,
        suggest_lr,
        sweep,
    )
    from descend.errors import ConvergenceWarning, DescendError, FormulaError  # noqa: F401
    from descend.functions import get, names  # noqa: F401
    from descend.plot import (  # noqa: F401
        animate,
        contour,
        fit_line,
        gallery,
        loss_curve,
        lr_comparison,
        regression_landscape,
        save,
        surface,
        tangent_1d,
    )


def test_version_matches_metadata():
    from importlib.metadata import version

    assert descend.__version__ == version("descend")


def test_import_is_light():
    code = ("import sys, descend; heavy = [m for m in ('sklearn', 'pandas', 'plotly', 'dash', "
            "'dask', 'typer') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
