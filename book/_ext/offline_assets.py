"""Ship with the site what its pages would otherwise load from CDNs.

kafkabook.site.vendor() fetches pinned npm packages with npm (require.js, the ipywidgets HTML
manager, MathJax, the Noto Sans KR web font) into _build/.vendor/; this extension adds that folder
to html_static_path, so the files land in _build/html/_static/vendor/, and adds the font's
stylesheet to every page. _config.yml points myst-nb's nb_ipywidgets_js and mathjax_path at them.
"""
from pathlib import Path

from kafkabook import site


def _add_vendor(app, config):
    static = site.vendor(Path(app.confdir) / "_build" / ".vendor")
    config.html_static_path = list(config.html_static_path) + [str(static)]
    css = list(config.html_css_files)
    # the @font-face rules first, then book/_static/hangul.css which uses them
    config.html_css_files = [site.FONT_CSS] + [c for c in css if c != site.FONT_CSS]


def setup(app):
    app.connect("config-inited", _add_vendor)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
