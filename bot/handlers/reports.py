"""Summaries for managers (and each salesperson's own): /summary, /pipeline, /forecast, their drill-in buttons,
/settings for the pushed summary and morning digest, and the scheduler's job that pushes them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from bot.core import format as fmt
from bot.core.callbacks import Callback, StaleCallback, pack
from bot.core.context import Ctx
from bot.core.messages import Button, Inbound, Keyboard, OutFile, Reply
from bot.core.router import HandlerResult, Router
from bot.handlers.views import about, due_text, words_of
from bot.texts import Texts
from crm_core.config import Settings
from crm_core.flows import Flows
from crm_core.nba.schemas import NbaStats
from crm_core.policy import Audience, hears_snoozed_rules, sees_support_figures
from crm_core.reports.chart import ChartTexts, render_chart
from crm_core.reports.flow import DuePush
from crm_core.reports.models import Digest, Forecast, Money, PipelineReport, StageFigures, Summary
from crm_core.reports.periods import PERIOD_KINDS, PeriodKind, askable, parse_clock_time, read_period
from crm_core.reports.pushes import PushKind, PushPrefs
from crm_core.schemas import UserOut

router = Router()
TEXT_LIMIT = 3900  # under Telegram's 4,096, with room for the clip marker
MAX_REPS_SHOWN = 10
MAX_OWNERS_SHOWN = 5
MAX_NBA_RULES_SHOWN = 4
REP_BUTTONS = 4
OWNER_BUTTONS = 3
LINE_CHARS = 200
SETTINGS_STATE = "push_time"
PRESET_TIMES: dict[PushKind, tuple[str, ...]] = {"summary": ("17:00", "18:00", "19:00"),
                                                 "digest": ("07:00", "08:00", "09:00")}
_KIND_CODE = {"day": "d", "week": "w", "month": "m"}
_CODE_KIND: dict[str, PeriodKind] = {"d": "day", "w": "week", "m": "month"}


def _args(msg: Inbound) -> str:
    text = (msg.text or "").strip()
    return text.split(maxsplit=1)[1].strip() if " " in text else ""


# --- wording -------------------------------------------------------------------------------------------------


def money(amount: Money, lang: str, t: Texts) -> str:
    """Amounts per currency, never added together ("500.000.000 ₫ + 8.000 US$")."""
    return fmt.money_totals(amount, lang) if amount else t("summary.none")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def _change(value: int) -> str:
    return f"▲{value}" if value > 0 else (f"▼{-value}" if value < 0 else "=")


def period_title(t: Texts, lang: str, kind: PeriodKind, first: date, last: date, *,
                 prefix: str = "summary.title") -> str:
    """A period as a title: `{prefix}_day`, `_week` or `_month` of the catalogue (the summary's, the audit's)."""
    if kind == "day":
        return t(f"{prefix}_day", day=fmt.weekday_day(first, lang))
    if kind == "week":
        return t(f"{prefix}_week", first=fmt.day(first, lang), last=fmt.day(last, lang))
    return t(f"{prefix}_month", month=_month(first, lang))


def _month(first: date, lang: str) -> str:
    """A month as read: '12/2026', 'Dec 2026'."""
    return f"{first:%m/%Y}" if lang == "vi" else f"{first:%b %Y}"


def _month_of(key: str, lang: str) -> str:
    """A month key ('2026-12') as read."""
    return _month(datetime.strptime(key, "%Y-%m").date(), lang)  # noqa: DTZ007 - a calendar month, no time


def _days(first: date | None, last: date | None, lang: str) -> str:
    """The days a figure is compared with: '22/11' or '23/11–26/11'."""
    if first is None or last is None:
        return "—"
    return fmt.day(first, lang) if first == last else f"{fmt.day(first, lang)}–{fmt.day(last, lang)}"


def highlight_text(summary: Summary, t: Texts, lang: str) -> str:
    """The paragraph on top: the LLM's checked text, or the rules' facts in the reader's words."""
    if summary.highlights.text:
        return summary.highlights.text
    parts = []
    for fact in summary.highlights.facts:
        values = {k: money(v, lang, t) if isinstance(v, dict) else v for k, v in fact.values.items()}
        parts.append(t(f"summary.hl.{fact.key}", **values))
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def _kinds(by_kind: dict[str, int], t: Texts) -> str:
    return ", ".join(f"{t(f'kind.{k}')} {v}" for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])) or "—"


def render_summary(summary: Summary, t: Texts, lang: str, viewer: UserOut) -> str:
    """One message under Telegram's limit: highlights, then each block; long lists are cut (buttons page them)."""
    title = period_title(t, lang, summary.kind, summary.first, summary.last)
    if summary.scope == "own":
        title += t("summary.own", name=viewer.name)
    lines = [title, t("summary.highlights", text=highlight_text(summary, t, lang)), ""]
    lines.append(t("summary.activity", total=summary.interactions_total,
                   change=_change(summary.interactions_total - summary.previous_interactions),
                   before=_days(summary.previous_first, summary.previous_last, lang)))
    shown = [a for a in summary.activity if a.total or a.previous_total][:MAX_REPS_SHOWN]
    for rep in shown:
        lines.append(fmt.clip(t("summary.rep_line", name=rep.name, total=rep.total, kinds=_kinds(rep.by_kind, t),
                                change=_change(rep.change)), LINE_CHARS))
    if not shown:
        lines.append(t("summary.no_activity"))
    hidden = len([a for a in summary.activity if a.total or a.previous_total]) - len(shown)
    if hidden > 0:
        lines.append(t("summary.more", count=hidden))
    if summary.interactions_unowned:
        lines.append(t("summary.unowned", count=summary.interactions_unowned))
    leads = {k: summary.leads.get(k, 0) for k in ("faq_bot", "import", "manual")}
    lines += ["", t("summary.leads", total=summary.leads_total, **leads)]
    d = summary.deals
    lines.append(t("summary.deals", created=d.created.count, created_amount=money(d.created.amount, lang, t),
                   moved=d.moved))
    lines.append(t("summary.closed", won=d.won.count, won_amount=money(d.won.amount, lang, t), lost=d.lost.count,
                   lost_amount=money(d.lost.amount, lang, t), rate=_rate(d.win_rate)))
    lines += ["", *_pipeline_lines(summary.pipeline, t, lang), *_forecast_lines(summary.forecast, t, lang)]
    lines += ["", t("summary.tasks", due=summary.tasks.due, overdue=summary.tasks.overdue)]
    owners = summary.tasks.overdue_by_owner
    lines += [t("summary.overdue_line", name=o.name, count=o.count) for o in owners[:MAX_OWNERS_SHOWN]]
    if len(owners) > MAX_OWNERS_SHOWN:
        lines.append(t("summary.more", count=len(owners) - MAX_OWNERS_SHOWN))
    lines.append(t("summary.stalled", count=summary.stalled))
    if summary.faq is not None:
        faq = summary.faq
        lines += ["", t("summary.faq", questions=faq.questions, answered=faq.answered, handoffs=faq.handoffs,
                        rate=_rate(faq.resolution_rate))]
        if faq.handoffs_by_reason:
            reasons = ", ".join(f"{handoff_reason(k, t)} {v}"
                                for k, v in sorted(faq.handoffs_by_reason.items(), key=lambda kv: -kv[1]))
            lines.append(t("summary.faq_reasons", reasons=reasons))
        lines.append(t("summary.csat", csat=faq.csat, count=faq.csat_count) if faq.csat is not None
                     else t("summary.no_csat"))
    if summary.nba is not None:
        lines += nba_lines(summary.nba, t, viewer)
    return fmt.clip_lines("\n".join(lines), TEXT_LIMIT)


def handoff_reason(reason: str | None, t: Texts) -> str:
    """A hand-off's reason in the catalogue's words (the same the staff see on a ticket), never its code."""
    key = f"staff.reason_{reason or 'other'}"
    return t(key) if t.has(key) else t("summary.reason_other")


def nba_lines(stats: NbaStats, t: Texts, viewer: UserOut) -> list[str]:
    """The suggestions' acceptance (issue 14): totals, the busiest rules, the mostly snoozed ones for admins."""
    answered = sorted((r for r in stats.rules if r.shown or r.done or r.snoozed),
                      key=lambda r: (-(r.shown + r.done + r.snoozed), r.rule))
    if not answered:
        return []
    totals = {k: sum(getattr(r, k) for r in answered) for k in ("shown", "done", "snoozed", "ignored")}
    lines = ["", t("summary.nba", days=stats.days, **totals)]
    lines += [t("summary.nba_line", rule=_rule_name(r.rule, t), done=r.done, snoozed=r.snoozed, ignored=r.ignored)
              for r in answered[:MAX_NBA_RULES_SHOWN]]
    if len(answered) > MAX_NBA_RULES_SHOWN:
        lines.append(t("summary.more", count=len(answered) - MAX_NBA_RULES_SHOWN))
    flagged = [_rule_name(r.rule, t) for r in stats.rules if r.mostly_snoozed]
    if flagged and hears_snoozed_rules(viewer):
        lines.append(t("nba.stats_flag", rules=", ".join(flagged)))
    return lines


def _rule_name(rule: str, t: Texts) -> str:
    return t(f"nba.rule.{rule}") if t.has(f"nba.rule.{rule}") else rule


def _pipeline_lines(pipeline: list[StageFigures], t: Texts, lang: str) -> list[str]:
    lines = [t("summary.pipeline")]
    for stage in pipeline:
        lines.append(fmt.clip(t("summary.stage_line", stage=stage.name(lang), count=stage.count,
                                amount=money(stage.amount, lang, t), weighted=money(stage.weighted, lang, t)),
                              LINE_CHARS))
    bases = {stage.basis for stage in pipeline if stage.count}
    if bases:
        basis = "mixed" if len(bases) > 1 else bases.pop()
        lines.append(f"   {t('summary.weighted_basis', basis=t(f'summary.basis_{basis}'))}")
    return lines


def _forecast_lines(forecast: Forecast, t: Texts, lang: str) -> list[str]:
    lines = [t("summary.forecast", month=_month_of(forecast.month, lang), amount=money(forecast.amount, lang, t)),
             f"   {t(f'summary.basis_{forecast.basis}')}"]
    if forecast.undated:
        lines.append(f"   {t('summary.undated', count=forecast.undated)}")
    return lines


def summary_keyboard(summary: Summary, t: Texts, viewer: UserOut) -> Keyboard | None:
    """Drill-in buttons: a salesperson's activity, one person's overdue tasks, stalled deals, hand-offs."""
    code, day = _KIND_CODE[summary.kind], f"{summary.first:%Y%m%d}"
    reps = [Button(fmt.clip(t("summary.btn_rep", name=a.name), 30), pack("sum", "rep", a.user_id, code, day, 1))
            for a in summary.activity if a.total][:REP_BUTTONS]
    owners = [Button(fmt.clip(t("summary.btn_overdue", name=o.name), 30), pack("sum", "od", o.user_id, 1))
              for o in summary.tasks.overdue_by_owner if o.user_id is not None][:OWNER_BUTTONS]
    more = []
    if summary.stalled:
        more.append(Button(t("summary.btn_stalled"), pack("sum", "st", 1)))
    if summary.faq is not None and summary.faq.handoffs and sees_support_figures(viewer):
        more.append(Button(t("summary.btn_handoffs"), pack("sum", "ho", code, day, 1)))
    return Keyboard.of(reps[:2], reps[2:], owners, more)


def chart_texts(summary: Summary, t: Texts, lang: str) -> ChartTexts:
    """The chart's words; the bars show one currency, and a note says what the others hold."""
    currency = max((c for s in summary.pipeline for c in s.amount), default="VND",
                   key=lambda c: sum(s.amount.get(c, Decimal(0)) > 0 for s in summary.pipeline))
    others: Money = {}
    count = 0
    for stage in summary.pipeline:
        held = {c: a for c, a in stage.amount.items() if c != currency and a}
        count += stage.count if held else 0
        for c, a in held.items():
            others[c] = others.get(c, Decimal(0)) + a
    left_out = t("summary.chart_left_out", count=count, amount=money(others, lang, t), currency=currency) \
        if others else None
    title = period_title(t, lang, summary.kind, summary.first, summary.last, prefix="summary.chart_title")
    return ChartTexts(title=title,
                      pipeline=t("summary.chart_pipeline"), activity=t("summary.chart_activity"),
                      no_activity=t("summary.chart_no_activity"),
                      kinds={k: t(f"kind.{k}") for k in ("call", "meeting", "email", "message", "note")},
                      currency=currency, left_out=left_out)


def chart_file(summary: Summary, settings: Settings, t: Texts, lang: str, viewer_id: int) -> Path:
    """Draw the summary's chart under the home (one file per viewer and period, replaced when drawn again)."""
    texts = chart_texts(summary, t, lang)
    currency = texts.currency
    path = settings.home / "charts" / f"summary-{viewer_id}-{summary.key}-{lang}.png"
    return render_chart(path, pipeline=summary.pipeline, activity=[a for a in summary.activity if a.total],
                        texts=texts, language=lang, money=lambda value: fmt.money(value, currency, lang))


def summary_reply(summary: Summary, settings: Settings, viewer: UserOut, lang: str) -> Reply:
    """The summary as one message with its chart and drill-in buttons."""
    t = Texts(lang)
    path = chart_file(summary, settings, t, lang, viewer.id)
    return Reply(render_summary(summary, t, lang, viewer), keyboard=summary_keyboard(summary, t, viewer),
                 file=OutFile(str(path), caption=t("summary.chart_caption"), kind="photo"))


# --- commands ------------------------------------------------------------------------------------------------


@router.command("summary", audience=Audience.STAFF)
async def on_summary(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """`/summary`, `/summary hôm qua`, `/summary 20/11`, `/summary tuần`, `/summary tháng`."""
    asked = read_period(_args(msg), ctx.now.astimezone(ctx.settings.tz).date(), ctx.lang)
    if asked is None:
        return Reply(ctx.t("summary.usage"))
    summary = await ctx.flows.reports.summary(ctx.staff, asked.kind, asked.day, language=ctx.lang)
    return summary_reply(summary, ctx.settings, ctx.staff, ctx.lang)


def _whose(ctx: Ctx, report: PipelineReport) -> str:
    return ctx.t("summary.own", name=ctx.staff.name) if report.scope == "own" else ""


@router.command("pipeline", audience=Audience.STAFF)
async def on_pipeline(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Open deals now, by stage: count, value, weighted value."""
    report = await ctx.flows.reports.pipeline(ctx.staff)
    lines = [ctx.t("summary.pipeline_title", whose=_whose(ctx, report)),
             *_pipeline_lines(report.pipeline, ctx.t, ctx.lang)[1:], ctx.t("summary.stalled", count=report.stalled)]
    keyboard = Keyboard.of([Button(ctx.t("summary.btn_stalled"), pack("sum", "st", 1))] if report.stalled else [])
    return Reply(fmt.clip_lines("\n".join(lines), TEXT_LIMIT), keyboard=keyboard)


@router.command("forecast", audience=Audience.STAFF)
async def on_forecast(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """The month's forecast by currency, and the probability each stage was given (history or configured)."""
    report = await ctx.flows.reports.pipeline(ctx.staff)
    forecast = report.forecast
    names = {s.key: s.name(ctx.lang) for s in report.pipeline}
    # The title carries the amount: the summary's own forecast line would say the same again.
    lines = [ctx.t("summary.forecast_title", month=_month_of(forecast.month, ctx.lang), whose=_whose(ctx, report),
                   amount=money(forecast.amount, ctx.lang, ctx.t)),
             *_forecast_lines(forecast, ctx.t, ctx.lang)[1:]]
    for odds in forecast.odds:
        basis = (ctx.t("summary.odds_history", closed=odds.closed_deals) if odds.basis == "history"
                 else ctx.t("summary.odds_configured"))
        lines.append(ctx.t("summary.odds_line", stage=names.get(odds.key, odds.key),
                           probability=_rate(odds.probability), basis=basis))
    return Reply(fmt.clip_lines("\n".join(lines), TEXT_LIMIT))


# --- drill-ins -----------------------------------------------------------------------------------------------


def _period_arg(cb: Callback, index: int, today: date) -> tuple[PeriodKind, date]:
    kind = _CODE_KIND.get(cb.args[index]) if index < len(cb.args) else None
    try:
        day = datetime.strptime(cb.args[index + 1], "%Y%m%d").date()  # noqa: DTZ007 - a calendar date, no time
    except (IndexError, ValueError) as error:
        raise StaleCallback("no period in the button") from error
    if kind is None or not askable(day, today):  # a forged or garbled button (year 0001, 9999)
        raise StaleCallback("no period in the button")
    return kind, day


def _nav(t: Texts, page: int, pages: int, action: str, *args: object) -> list[Button]:
    buttons = []
    if page > 1:
        buttons.append(Button(t("btn.prev"), pack("sum", action, *args, page - 1)))
    if page < pages:
        buttons.append(Button(t("btn.next"), pack("sum", action, *args, page + 1)))
    return buttons


@router.callback("sum", audience=Audience.STAFF)
async def on_drill_in(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """A summary's button: one salesperson's activity, one person's overdue tasks, stalled deals, hand-offs."""
    reports, t, lang = ctx.flows.reports, ctx.t, ctx.lang
    tz = ctx.settings.tz
    lines: list[str]
    if cb.action == "rep":
        user_id = cb.arg_int(0)
        kind, day = _period_arg(cb, 1, ctx.now.astimezone(tz).date())
        rep, page = await reports.activity_of(ctx.staff, user_id, kind, day, cb.arg_int(3))
        lines = [t("summary.rep_title", name=rep.name, total=rep.total, period=period_title(
            t, lang, kind, *_bounds(ctx, kind, day), prefix="summary.chart_title"), page=page.page, pages=page.pages)]
        lines += [fmt.clip(t("summary.rep_item", when=fmt.moment(i.occurred_at, lang, tz), kind=t(f"kind.{i.kind}"),
                             about=f"{i.company or i.contact} — " if (i.company or i.contact) else "",
                             text=" ".join(words_of(i.summary, t).split())), LINE_CHARS) for i in page.items]
        nav = _nav(t, page.page, page.pages, "rep", user_id, cb.args[1], cb.args[2])
    elif cb.action == "od":
        owner_id = cb.arg_int(0)
        tasks = await reports.overdue_of(ctx.staff, owner_id, cb.arg_int(1))
        name = tasks.items[0].owner if tasks.items and tasks.items[0].owner else ctx.staff.name
        lines = [t("summary.overdue_title", name=name, total=tasks.total, page=tasks.page, pages=tasks.pages)]
        lines += [fmt.clip(t("summary.overdue_item", id=task.id, title=task.title, about=about(task),
                             due=due_text(task.due_at, t, ctx.now, ctx.settings)), LINE_CHARS) for task in tasks.items]
        nav = _nav(t, tasks.page, tasks.pages, "od", owner_id)
    elif cb.action == "st":
        deals = await reports.stalled(ctx.staff, cb.arg_int(0))
        lines = [t("summary.stalled_title", total=deals.total, page=deals.page, pages=deals.pages)]
        lines += [fmt.clip(t("summary.stalled_item", id=d.id, title=d.title, days=d.days, owner=d.owner or "—",
                             stage=d.stage_vi if lang == "vi" else d.stage_en,
                             amount=fmt.money(d.amount, d.currency, lang)), LINE_CHARS) for d in deals.items]
        nav = _nav(t, deals.page, deals.pages, "st")
    elif cb.action == "ho":
        kind, day = _period_arg(cb, 0, ctx.now.astimezone(tz).date())
        questions = await reports.handoffs(ctx.staff, kind, day, cb.arg_int(2))
        lines = [t("summary.handoffs_title", total=questions.total, page=questions.page, pages=questions.pages)]
        lines += [fmt.clip(t("summary.handoff_item", when=fmt.moment(q.asked_at, lang, tz),
                             reason=handoff_reason(q.reason, t), question=" ".join(words_of(q.question, t).split())),
                           LINE_CHARS) for q in questions.items]
        nav = _nav(t, questions.page, questions.pages, "ho", cb.args[0], cb.args[1])
    else:
        raise StaleCallback(cb.action)
    if len(lines) == 1:
        lines.append(t("summary.empty_list"))
    return Reply(fmt.clip_lines("\n".join(lines), TEXT_LIMIT), keyboard=Keyboard.of(nav),
                 edit=cb.args[-1] != "1")


def _bounds(ctx: Ctx, kind: PeriodKind, day: date) -> tuple[date, date]:
    period = ctx.flows.reports.period(kind, day)
    return period.first, period.last


# --- /settings -----------------------------------------------------------------------------------------------


def settings_reply(prefs: PushPrefs, kinds: list[PushKind], t: Texts, settings: Settings, *, edit: bool) -> Reply:
    """When this person's summary and digest arrive, with buttons to move or mute each."""
    if not kinds:
        return Reply(t("settings.nothing"), edit=edit)
    lines = [t("settings.title", tz=settings.timezone)]
    rows: list[list[Button]] = []
    for kind in kinds:
        what = t(f"settings.what_{kind}")
        custom = prefs.summary_custom if kind == "summary" else prefs.digest_custom
        at = prefs.summary_time if kind == "summary" else prefs.digest_time
        state = t("settings.muted") if prefs.muted(kind) else t("settings.at", time=at) + (
            t("settings.own_time") if custom else "")
        lines.append(t(f"settings.{kind}_line", state=state))
        rows.append([Button(t("settings.btn_unmute" if prefs.muted(kind) else "settings.btn_mute", what=what),
                            pack("pset", "unmute" if prefs.muted(kind) else "mute", kind))])
        rows.append([Button(preset, pack("pset", "at", kind, preset.replace(":", ""))) for preset in PRESET_TIMES[kind]]
                    + [Button(t("settings.btn_time", what=what), pack("pset", "ask", kind))])
        if custom:
            rows.append([Button(t("settings.btn_default", what=what), pack("pset", "default", kind))])
    return Reply("\n".join(lines), keyboard=Keyboard.of(*rows), edit=edit)


@router.command("settings", audience=Audience.STAFF)
async def on_settings(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """Show when the summary (managers) and the morning digest (salespeople) arrive."""
    prefs = await ctx.flows.reports.push_settings(ctx.staff)
    return settings_reply(prefs, ctx.flows.reports.push_kinds(ctx.staff), ctx.t, ctx.settings, edit=False)


def _push_kind(value: str) -> PushKind:
    if value not in ("summary", "digest"):
        raise StaleCallback(value)
    return "summary" if value == "summary" else "digest"


@router.callback("pset", audience=Audience.STAFF)
async def on_settings_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Mute, unmute, pick a preset time, go back to the team's time, or ask for a typed time."""
    kind = _push_kind(cb.args[0])
    reports = ctx.flows.reports
    if kind not in reports.push_kinds(ctx.staff):
        return Reply(ctx.t("common.not_allowed_staff"))
    if cb.action == "ask":
        await ctx.set_state(SETTINGS_STATE, {"kind": kind})
        return Reply(ctx.t("settings.ask_time", what=ctx.t(f"settings.what_{kind}")))
    if cb.action in ("mute", "unmute"):
        prefs = await reports.change_push(ctx.staff, kind, muted=cb.action == "mute")
    elif cb.action == "default":
        prefs = await reports.change_push(ctx.staff, kind, default_time=True)
    elif cb.action == "at":
        at = parse_clock_time(f"{cb.args[1][:2]}:{cb.args[1][2:]}") if len(cb.args) > 1 else None
        if at is None:
            raise StaleCallback("no time in the button")
        prefs = await reports.change_push(ctx.staff, kind, at=f"{at:%H:%M}", muted=False)
    else:
        raise StaleCallback(cb.action)
    return settings_reply(prefs, reports.push_kinds(ctx.staff), ctx.t, ctx.settings, edit=True)


@router.state(SETTINGS_STATE, audience=Audience.STAFF, short=True)
async def on_typed_time(msg: Inbound, ctx: Ctx, data: dict[str, object]) -> HandlerResult:
    """The time typed after "Change the time"."""
    kind = _push_kind(str(data.get("kind")))
    at = parse_clock_time(msg.text or "")
    if at is None:
        return Reply(ctx.t("settings.bad_time", text=fmt.clip(msg.text or "", 40)))
    await ctx.clear_state()
    prefs = await ctx.flows.reports.change_push(ctx.staff, kind, at=f"{at:%H:%M}", muted=False)
    return settings_reply(prefs, ctx.flows.reports.push_kinds(ctx.staff), ctx.t, ctx.settings, edit=False)


# --- the scheduled pushes ------------------------------------------------------------------------------------


def digest_reply(digest: Digest, user: UserOut, settings: Settings, now: datetime) -> str:
    """A salesperson's morning in their language."""
    t, lang = Texts(user.language), user.language
    lines = [t("summary.digest_title", name=user.name, day=fmt.weekday_day(digest.day, lang))]
    for key, tasks in (("digest_today", digest.today), ("digest_overdue", digest.overdue)):
        if tasks:
            lines.append(t(f"summary.{key}", count=len(tasks)))
            lines += [fmt.clip(t("summary.digest_task", id=x.id, title=x.title, about=about(x),
                                 due=due_text(x.due_at, t, now, settings)), LINE_CHARS) for x in tasks]
    if digest.stalled:
        lines.append(t("summary.digest_stalled", count=len(digest.stalled)))
        lines += [fmt.clip(t("summary.digest_deal", id=d.id, title=d.title, days=d.days,
                             stage=d.stage_vi if lang == "vi" else d.stage_en), LINE_CHARS) for d in digest.stalled]
    from bot.handlers.nba import digest_lines  # the top next-best-actions (issue 14)

    lines += digest_lines(digest.actions, t)
    return fmt.clip_lines("\n".join(lines), TEXT_LIMIT)


def push_reply(push: DuePush, settings: Settings, now: datetime) -> Reply:
    """Address a claimed push to its person's chat."""
    if push.summary is not None:
        reply = summary_reply(push.summary, settings, push.user, push.user.language)
        return Reply(reply.text, keyboard=reply.keyboard, file=reply.file, chat_id=push.chat_id, channel=push.channel)
    assert push.digest is not None
    return Reply(digest_reply(push.digest, push.user, settings, now), chat_id=push.chat_id, channel=push.channel)


@router.periodic
async def push_summaries(flows: Flows, settings: Settings, channel: str) -> list[Reply]:
    """At each person's time on working days: the summary to managers, the morning digest to salespeople."""
    now = flows.reports.services.now
    return [push_reply(push, settings, now) for push in await flows.reports.due_pushes(channel)]


__all__ = ["PERIOD_KINDS", "push_summaries", "render_summary", "router", "summary_reply"]
