"""Reports: the daily summary, pipeline and forecast, the highlights, the chart, the scheduled pushes.

    periods.py     day / ISO week / month in the business time zone, and the period before
    figures.py     the aggregate queries (GROUP BY in the database)
    forecast.py    pipeline by stage and the month's forecast (pure)
    highlights.py  the paragraph on top: rules, or an LLM checked against the figures
    chart.py       one PNG for a phone (matplotlib, headless)
    pushes.py      each person's push times and mutes; the once-only claim
    flow.py        the use cases (ReportFlow)
"""

from __future__ import annotations
