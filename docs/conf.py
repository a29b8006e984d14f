"""Sphinx configuration for descend's documentation (``make docs``).

Everything is built offline: the gallery examples run descend at build time, Plotly's
JavaScript and MathJax are copied from installed packages into ``_static/`` once, and no page
asks another host for anything (``tests/docs`` checks this in a browser).
"""

from __future__ import annotations

import sys
from pathlib import Path

from sphinx_gallery.sorting import ExplicitOrder, FileNameSortKey

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import descend_docs  # noqa: E402

import descend  # noqa: E402

project = "descend"
author = "descend developers"
copyright = "descend developers, MIT License"
release = descend.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "descend_docs",
]

exclude_patterns = ["_build", "_ext", "**/README.rst", "sg_execution_times.rst"]
templates_path: list[str] = []
html_static_path = ["_static"]
html_css_files = ["descend.css"]
html_theme = "pydata_sphinx_theme"
html_title = "descend"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": []}
# Light pages: the figures are drawn on white.
html_context = {"default_mode": "light"}
html_show_sourcelink = False
html_copy_source = False

# MathJax 3 from the django-static-mathjax wheel, copied into _static by descend_docs.
mathjax_path = "mathjax/tex-svg.js"

autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
autodoc_inherit_docstrings = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = False

# sphinx_gallery_conf holds functions (the scraper), which Sphinx cannot pickle: it rebuilds.
suppress_warnings = ["config.cache"]
abort_on_example_error = True

sphinx_gallery_conf = {
    "examples_dirs": ["examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r".*\.py$",
    "ignore_pattern": r"__init__\.py",
    "subsection_order": ExplicitOrder(["examples/tutorials", "examples/more"]),
    "within_subsection_order": FileNameSortKey,
    "image_scrapers": (descend_docs.plotly_scraper,),
    "reset_modules": (descend_docs.strict_warnings,),
    "reset_modules_order": "both",
    "capture_repr": (),
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "min_reported_time": 3600,
    "write_computation_times": False,
    "show_signature": False,
}
