"""The static map (map.png): Chinese from the shipped font, tight extent, legend, scale bar."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from siting.outputs import fonts, mapimage


def test_the_font_is_the_packaged_file_not_a_system_one() -> None:
    from matplotlib import font_manager

    path = fonts.font_path()
    assert path.is_file()
    assert path.name == "NotoSansSC-Regular.otf"
    fp = fonts.font()
    assert fp.get_name() == "Noto Sans SC"
    assert Path(font_manager.findfont(fp, fallback_to_default=False)) == path


def test_chinese_title_renders_without_missing_glyphs() -> None:
    """pytest turns warnings into errors here: a glyph the font lacks would fail the draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fp = fonts.font()
    fig, ax = plt.subplots()
    text = ax.set_title(
        "演示区 养老服务设施布局规划图 一刻钟 900 m · 一公里 1,000 m · 新建 10 处 50.9% → 74.7%",
        fontproperties=fp,
    )
    fig.canvas.draw()
    assert text.get_fontproperties().get_file() == str(fonts.font_path())
    plt.close(fig)


@pytest.mark.parametrize(
    ("width", "length"), [(9_700.0, 1_000.0), (12_000.0, 2_000.0), (2_600.0, 500.0), (30.0, 5.0)]
)
def test_scale_bar_length_is_round_and_near_a_fifth(width: float, length: float) -> None:
    assert mapimage.nice_length(width) == length
    assert mapimage.length_label(2_000) == "2 km"
    assert mapimage.length_label(500) == "500 m"


def test_png_is_written_tight_and_not_mostly_white(demo_result, tmp_path: Path) -> None:
    from matplotlib import image

    sys.modules.pop("siting.maps", None)
    with pytest.warns(DeprecationWarning, match="siting.maps"):
        import siting.maps as old  # the module's old path: scripts that drew with it still do
    assert old.write_png is mapimage.write_png
    path = mapimage.write_png(demo_result, demo_result.tables["proposed_sites"], tmp_path / "m.png")
    coloured = (image.imread(path)[..., :3] < 0.94).any(axis=-1)
    height, width = coloured.shape
    assert width > height  # the legend stands to the right of the map
    assert coloured.mean() > 0.4, coloured.mean()
    # the map (left of the legend column): the district fills it (the old PNG: 0.41)
    share = coloured[:, : int(width * 0.72)].mean()
    assert share > 0.5, share


def test_math_in_the_scenario_name_stays_text(demo_result, tmp_path: Path) -> None:
    named = dataclasses.replace(
        demo_result, scenario=demo_result.scenario.model_copy(update={"name": r"$\frac{a}{b}$^_"})
    )
    path = mapimage.write_png(named, named.tables["proposed_sites"], tmp_path / "m.png")
    assert path.stat().st_size > 10_000
