"""Matplotlib with Hangul labels: the NanumGothic font that requirements.txt installs (koreanize-matplotlib)."""
from importlib import resources

import matplotlib
from matplotlib import font_manager

FONT_FILES = ("NanumGothic.ttf", "NanumGothicBold.ttf")


def hangul_font():
    """Register the project's Korean font with matplotlib and make it the default; returns its family name.

    The font ships inside the koreanize-matplotlib wheel, so a fresh machine needs no system font.
    """
    folder = resources.files("koreanize_matplotlib") / "fonts"
    family = None
    for name in FONT_FILES:
        path = str(folder / name)
        font_manager.fontManager.addfont(path)
        family = family or font_manager.FontProperties(fname=path).get_name()
    matplotlib.rcParams["font.family"] = family
    matplotlib.rcParams["axes.unicode_minus"] = False   # the font has no U+2212 minus sign
    return family


def figure(*args, **kwargs):
    """plt.subplots(...) with the Hangul font in place."""
    import matplotlib.pyplot as plt
    hangul_font()
    return plt.subplots(*args, **kwargs)
