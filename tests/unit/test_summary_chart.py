"""The summary's chart on a phone: nothing cut at the edges, labels big enough, other currencies named."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from PIL import Image

from bot.core import format as fmt
from bot.handlers.reports import chart_texts
from bot.texts import Texts
from crm_core.reports.chart import LABEL_PT, render_chart
from crm_core.reports.models import Forecast, RepActivity, StageFigures, Summary

VI = Texts("vi")


def _summary() -> Summary:
    pipeline = [StageFigures(key="quote", name_vi="Báo giá", name_en="Quote", position=4, probability=60, count=2,
                             amount={"VND": Decimal(900_000_000)}),
                StageFigures(key="contacted", name_vi="Đã liên hệ", name_en="Contacted", position=2, probability=20,
                             count=1, amount={"USD": Decimal(10_000)})]
    everyone = {"call": 3, "meeting": 2, "email": 1, "message": 1, "note": 1}
    activity = [RepActivity(user_id=n, name=name, by_kind=everyone) for n, name in enumerate(("An", "Bình"), 1)]
    return Summary(kind="day", first=date(2026, 11, 20), last=date(2026, 11, 20), key="2026-11-20",
                   as_of=datetime(2026, 11, 20, tzinfo=UTC), scope="team", viewer_id=1, pipeline=pipeline,
                   activity=activity, forecast=Forecast(month="2026-11"))


def test_deals_in_another_currency_are_named_under_the_bars() -> None:
    texts = chart_texts(_summary(), VI, "vi")

    assert texts.currency == "VND"
    assert texts.left_out == VI("summary.chart_left_out", currency="VND", count=1,
                                amount=fmt.money(Decimal(10_000), "USD", "vi"))


def test_the_legend_of_every_kind_fits_inside_the_picture(tmp_path: Path) -> None:
    summary = _summary()
    path = render_chart(tmp_path / "chart.png", pipeline=summary.pipeline, activity=summary.activity,
                        texts=chart_texts(summary, VI, "vi"), language="vi",
                        money=lambda v: fmt.money(v, "VND", "vi"))

    with Image.open(path) as image:
        grey = image.convert("L")
        width, height = grey.size
        edge = grey.crop((width - 3, 0, width, height))
        assert edge.getextrema() == (255, 255)  # nothing drawn into the right edge: no cut-off word
    assert LABEL_PT >= 8  # about 11 px on a 360 px wide phone screen
