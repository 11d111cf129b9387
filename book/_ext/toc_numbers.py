"""Number chapters and sections exactly as _toc.yml orders them.

Sphinx numbers a parent page's own headings and its child pages together, in page order: a parent
notebook ending with `## 직접 해보기` would take 2.2.1 and push its first child page to 2.2.2.
Here the headings of a page that has child pages in the toc are left out while numbers are
assigned, so they stay unnumbered (they remain in the page's contents list) and the children are
numbered 2.2.1, 2.2.2, ... as the toc lists them. Headings inside leaf pages are numbered as usual.

Works with whichever assign_section_numbers is installed when the builder starts (jupyter-book's
sphinx_multitoc_numbering replaces Sphinx's own for continuous chapter numbers across parts).
"""
from docutils import nodes
from sphinx import addnodes
from sphinx.environment.collectors.toctree import TocTreeCollector

MARK = "kafkabook_unnumbered"


def _mark_parent_headings(app, doctree):
    toc = app.env.tocs.get(app.env.docname)
    if toc is None or not any(True for _ in toc.findall(addnodes.toctree)):
        return
    for para in list(toc.findall(addnodes.compact_paragraph))[1:]:  # [0] is the page title
        para[MARK] = True


def _numbering_without_parent_headings(assign):
    def assign_section_numbers(self, env):
        detached = []
        for toc in env.tocs.values():
            for para in list(toc.findall(addnodes.compact_paragraph)):
                item = para.parent
                if para.get(MARK) and isinstance(item, nodes.list_item) and item.parent is not None:
                    holder = item.parent
                    detached.append((holder, holder.index(item), item))
                    holder.remove(item)
        try:
            return assign(self, env)
        finally:
            for holder, index, item in reversed(detached):
                holder.insert(index, item)
                for ref in item.findall(nodes.reference):
                    # explicitly no number (absent, the page title's number would be used instead)
                    ref["secnumber"] = None
                    numbers = env.toc_secnumbers.get(ref["refuri"])
                    if numbers is not None:
                        numbers[ref["anchorname"]] = None

    assign_section_numbers.kafkabook_wrapped = True
    return assign_section_numbers


def _install(app):
    current = TocTreeCollector.assign_section_numbers
    if not getattr(current, "kafkabook_wrapped", False):
        TocTreeCollector.assign_section_numbers = _numbering_without_parent_headings(current)


def setup(app):
    # after TocTreeCollector.process_doc (doctree-read, priority 500) has built env.tocs[docname]
    app.connect("doctree-read", _mark_parent_headings, priority=900)
    app.connect("builder-inited", _install, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
