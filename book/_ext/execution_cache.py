"""Notebook outputs from jupyter-cache, re-executed when what they depend on changes; a footer that says
when and against which broker the outputs of a page were produced.

jupyter-cache (_config.yml: execute_notebooks: cache) keys a notebook on its code only. Before Sphinx
decides what to re-read, kafkabook.site.stale_notebooks() drops the cache entries of the notebooks whose
dependencies (the kafkabook package, the chapters' Java sources, requirements.txt, docker-compose.yml,
the broker's version) changed, and this extension has Sphinx re-read those pages, so they execute again.
`./run site --fresh` empties the cache first: every notebook is executed against the broker.
"""
from datetime import datetime, timezone
from pathlib import Path

from kafkabook import site


def _cache_path(app):
    configured = app.config.nb_execution_cache_path
    return Path(configured) if configured else Path(app.outdir).parent / ".jupyter_cache"


def _broker(app, config):
    app.kafkabook_broker = site.broker_version()  # an attribute, not a config value: the config stays the same


def _outdated(app, env, added, changed, removed):
    if app.config.nb_execution_mode != "cache":
        return []
    docs = {}
    for docname in env.found_docs:
        path = Path(env.doc2path(docname))
        if path.suffix == ".ipynb":
            docs[path.resolve()] = docname
    dropped = site.stale_notebooks(_cache_path(app), list(docs), app.kafkabook_broker, Path(app.confdir))
    return [docs[p] for p in dropped if p in docs]


def _footer(app, pagename, templatename, context, doctree):
    from myst_nb.sphinx_ import NbMetadataCollector
    data = NbMetadataCollector.get_exec_data(app.env, pagename) if pagename in app.env.found_docs else None
    if not data or not data.get("mtime"):
        return
    when = datetime.fromtimestamp(data["mtime"], timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    line = (f'<p class="kafkabook-outputs">이 쪽의 출력은 {when}에 {app.kafkabook_broker} 브로커에 대고 '
            f'노트북을 실행해 얻은 것이다.</p>')
    context["theme_extra_footer"] = (context.get("theme_extra_footer") or "") + line


def setup(app):
    app.connect("config-inited", _broker)
    app.connect("env-get-outdated", _outdated)
    app.connect("html-page-context", _footer)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
