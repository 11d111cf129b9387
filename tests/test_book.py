"""Checks that apply to every page of the book: the toc and the files agree, notebooks are committed clean,
prose is our own, and every notebook starts by checking the broker."""
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "source" / "kafka-notes-ko.md"


def toc_files():
    def walk(entries):
        for e in entries:
            if "file" in e:
                yield e["file"]
            yield from walk(e.get("sections", []))
            yield from walk(e.get("chapters", []))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [toc["root"], *walk(toc.get("parts", []))]


def page_path(entry):
    for ext in (".ipynb", ".md"):
        if (ROOT / (entry + ext)).exists():
            return ROOT / (entry + ext)
    return None


NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)


def cells(relpath):
    return json.loads((ROOT / relpath).read_text(encoding="utf-8"))["cells"]


@pytest.mark.parametrize("entry", toc_files())
def test_every_toc_entry_has_a_page(entry):
    assert page_path(entry) is not None, f"_toc.yml lists {entry} but no .ipynb/.md exists"


def test_every_notebook_is_in_the_toc():
    listed = {page_path(e).relative_to(ROOT).as_posix() for e in toc_files() if page_path(e)}
    assert set(NOTEBOOKS) <= listed, set(NOTEBOOKS) - listed


@pytest.mark.parametrize("relpath", NOTEBOOKS)
def test_committed_without_outputs(relpath):
    for c in cells(relpath):
        if c["cell_type"] == "code":
            assert not c.get("outputs") and c.get("execution_count") is None, relpath


@pytest.mark.parametrize("relpath", NOTEBOOKS)
def test_opens_with_goals_and_checks_the_broker_first(relpath):
    cs = cells(relpath)
    first_md = "".join(cs[0]["source"])
    assert first_md.startswith("# ") and "학습 목표" in first_md
    first_code = next("".join(c["source"]) for c in cs if c["cell_type"] == "code")
    assert "check_broker(" in first_code
    assert any("직접 해보기" in "".join(c["source"]) for c in cs if c["cell_type"] == "markdown")


@pytest.mark.skipif(not SOURCE.exists(), reason="the source outline is not beside the repository")
@pytest.mark.parametrize("relpath", NOTEBOOKS + [p.relative_to(ROOT).as_posix() for p in ROOT.glob("notebooks/**/*.md")])
def test_prose_is_written_in_our_own_words(relpath):
    norm = lambda s: re.sub(r"\s+", " ", s).strip()
    seed = {norm(line) for line in SOURCE.read_text(encoding="utf-8").splitlines()
            if len(norm(line)) >= 30 and not norm(line).startswith(("bin/", "```", "{", ">", "#"))}
    if relpath.endswith(".ipynb"):
        text = "\n".join("".join(c["source"]) for c in cells(relpath) if c["cell_type"] == "markdown")
    else:
        text = (ROOT / relpath).read_text(encoding="utf-8")
    copied = [line for line in map(norm, text.splitlines()) if line in seed]
    assert not copied, copied[:3]
