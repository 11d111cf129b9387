"""Ship with the site what its pages would otherwise load from CDNs, and keep its pages light.

kafkabook.site.vendor() fetches pinned npm packages with npm (the ipywidgets HTML manager,
MathJax, the Noto Sans KR web font) into _build/.vendor/; this extension adds that folder
to html_static_path, so the files land in _build/html/_static/vendor/, and adds the font's
stylesheet to every page. _config.yml points myst-nb's nb_ipywidgets_js and mathjax_path at them.
When the pages are written, kafkabook.site.slim() lightens them: Font Awesome from the theme's CSS
webfonts (cut to the icons used) instead of its 1.5 MB script, the search index only on search.html,
and the Hangul font's pieces cut to the characters the site shows.
"""
from pathlib import Path

from kafkabook import site


def _vendor_dir(app):
    return Path(app.confdir) / "_build" / ".vendor"


def _add_vendor(app, config):
    static = site.vendor(_vendor_dir(app))
    config.html_static_path = list(config.html_static_path) + [str(static)]
    css = list(config.html_css_files)
    # the @font-face rules first, then book/_static/hangul.css which uses them
    config.html_css_files = [site.FONT_CSS] + [c for c in css if c != site.FONT_CSS]


def _slim(app, exception):
    if exception is None and app.builder.format == "html":
        site.slim(app.outdir, _vendor_dir(app))


def setup(app):
    app.connect("config-inited", _add_vendor)
    app.connect("build-finished", _slim)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
