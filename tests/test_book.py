"""Checks that apply to every page of the book: the toc and the files agree, notebooks are committed clean,
prose is our own, one vocabulary and one speech level, and every notebook starts by checking the broker."""
import json
import os
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


def test_the_source_outline_is_beside_the_repository():
    """CI has ../shared beside the clone; there a missing outline is a failure, not a reason to skip the prose check."""
    if not SOURCE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SOURCE} is missing: the prose-copy check cannot run")
        pytest.skip("the source outline is not beside the repository (outside CI)")


@pytest.mark.skipif(not SOURCE.exists() and os.environ.get("CI") != "true",
                    reason="the source outline is not beside the repository")
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


def markdown_prose(relpath):
    """The markdown of a notebook (or .md page) without code blocks and inline code."""
    if relpath.endswith(".ipynb"):
        text = "\n".join("".join(c["source"]) for c in cells(relpath) if c["cell_type"] == "markdown")
    else:
        text = (ROOT / relpath).read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


VARIANTS = yaml.safe_load((ROOT / "book" / "term_variants.yml").read_text(encoding="utf-8"))
PAGES = NOTEBOOKS + sorted(p.relative_to(ROOT).as_posix() for p in [*ROOT.glob("notebooks/**/*.md"),
                                                                      *ROOT.glob("book/*.md")]
                           if p.name != "glossary.md")


@pytest.mark.parametrize("relpath", PAGES)
def test_terms_follow_the_glossary(relpath):
    prose = markdown_prose(relpath)
    found = [f"{m.group(0)!r} → {v['use']}" for v in VARIANTS for m in re.finditer(v["pattern"], prose)]
    assert not found, f"{relpath}: book/glossary.md의 용어를 쓰세요: {found[:5]}"


def test_the_variant_table_catches_what_it_names():
    """Each pattern must match a sample of itself and must not match the preferred term."""
    samples = {"복제 계수": True, "사본": True, "레플리카": True, "배정": True, "파이썬 사전으로": True,
               "렉이 쌓인다": True, "디렉터리": False, "사전 지식": False, "복사본": False, "복제 팩터": False,
               "복제본": False, "할당": False, "딕셔너리": False,
               "하이 워터마크": False, "하이워터마크": True,
               "액티브 컨트롤러": True, "활성 컨트롤러": False,
               "액티브 세그먼트": True}
    for text, banned in samples.items():
        hit = any(re.search(v["pattern"], text) for v in VARIANTS)
        assert hit == banned, text


#: Hangul syllables whose final consonant is ㅂ (합, 입, 됩, ...): with 니다 they make the 합쇼체 ending
_B_FINAL = "".join(chr(c) for c in range(0xAC00, 0xD7A4) if (c - 0xAC00) % 28 == 17)
#: polite endings (합쇼체 -습니다/-ㅂ니다, 해요체 -요, 권유 -세요/-시다); notebooks speak 한다체
POLITE = re.compile(rf"(습니다|[{_B_FINAL}]니다|세요|해요|에요|예요|까요|어요|아요|봅시다|합시다)(?=[.!?)\s]|$)", re.M)


@pytest.mark.parametrize("relpath", NOTEBOOKS)
def test_notebook_prose_is_in_handa_style(relpath):
    """Notebook prose, exercises included, is 한다체; front pages (book/) may use 합쇼체."""
    lines = [line for line in markdown_prose(relpath).splitlines() if POLITE.search(line)]
    assert not lines, f"{relpath}: 한다체로 쓰세요: {lines[:3]}"


def test_plots_draw_hangul_with_the_projects_own_font(tmp_path):
    """Figures use the NanumGothic that requirements.txt installs; no Hangul glyph is missing."""
    import warnings

    import matplotlib
    matplotlib.use("Agg")
    from kafkabook.plots import figure
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = figure()
        ax.set_title("파티션별 처리량 (레코드/초)")
        ax.set_xlabel("컨슈머 수")
        fig.savefig(tmp_path / "hangul.png")
    missing = [str(w.message) for w in caught if "Glyph" in str(w.message)]
    assert not missing, missing
    assert matplotlib.rcParams["font.family"] == ["NanumGothic"]


@pytest.mark.parametrize("relpath", NOTEBOOKS)
def test_code_lines_fit_the_sites_code_column(relpath):
    """The site's code column shows about 78 characters before a scrollbar hides the rest."""
    long = [line for c in cells(relpath) if c["cell_type"] == "code"
            for line in "".join(c["source"]).splitlines() if len(line) > 79]
    assert not long, f"{relpath}: {len(long)} lines over 79 characters: {long[:2]}"


@pytest.mark.parametrize("source", sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("notebooks/**/*.java")))
def test_java_sources_highlight_without_lexer_errors(source):
    """Notebooks show their Java programs as highlighted code; the strict site build fails on a lexer error
    (Pygments' Java lexer, for one, reads `record.` as the start of a Java 16 record declaration)."""
    from pygments.lexers import JavaLexer
    text = (ROOT / source).read_text(encoding="utf-8")
    errors = [value for token, value in JavaLexer().get_tokens(text) if "Error" in str(token)]
    assert not errors, f"{source}: Pygments cannot lex {errors[:3]}"
