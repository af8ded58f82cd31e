"""Next-best-actions in chat: /next (own list, paged, each with [Done] [Snooze] [Open]), /next Lan and /next team
for managers, /next stats, the "Next" button after a saved log, and the nightly value tiers job."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from bot.core import format as fmt
from bot.core.callbacks import Callback, StaleCallback, pack
from bot.core.context import Ctx
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from bot.handlers.sales import customer_card, deal_card, person_card
from bot.texts import Texts
from crm_core.config import Settings
from crm_core.errors import AlreadyDone
from crm_core.flows import Flows
from crm_core.nba.schemas import NbaStats, NextItem, NextList
from crm_core.policy import Audience, answers_next_of, hears_snoozed_rules, sees_nba_stats
from crm_core.schemas import UserOut

router = Router()
PAGE = 5
NOTE_STATE = "nba_note"
TEXT_LIMIT = 3900
_SUBJECT_CODES = {"deal": "d", "task": "t", "company": "c", "lead": "l"}
_CODE_SUBJECTS = {v: k for k, v in _SUBJECT_CODES.items()}


# --- wording (also used by `chatcrm next` and the morning digest) -------------------------------------------


def _who(item: NextItem, t: Texts) -> str:
    return item.contact or item.company or item.deal or t("nba.someone")


def _about(item: NextItem, t: Texts) -> str:
    return t("nba.about", company=item.company) if item.company and item.contact else ""


def action_text(item: NextItem, t: Texts) -> str:
    """One line: what to do, with whom."""
    return t(f"nba.action.{item.rule}", who=_who(item, t), about=_about(item, t), deal=fmt.inner(item.deal or ""),
             title=fmt.inner(str(item.facts.get("title") or "")), tier=item.facts.get("tier") or "")


def _money(facts: dict[str, str | int | None], lang: str) -> str:
    try:
        amount = Decimal(str(facts["amount"])) if facts.get("amount") is not None else None
    except InvalidOperation:
        amount = None
    currency = facts.get("currency")
    return fmt.money(amount, str(currency) if currency else None, lang)


def _day(value: str | int | None, lang: str) -> str:
    return fmt.day(date.fromisoformat(str(value)), lang) if value else "—"


def reason_key(item: NextItem) -> str:
    """The catalogue key of the item's reason (some rules have two wordings)."""
    f, key = item.facts, f"nba.reason.{item.rule}"
    if item.rule == "close_date":
        return key + ("_late" if f.get("late") else "_soon")
    if item.rule == "care_first":
        return key + ("_ticket" if f.get("ticket") else "_csat")
    if item.rule == "key_customer_quiet" and f.get("days") is None:
        return key + "_never"
    if item.rule == "onboarding" and f.get("days") in (0, 1):
        return key + ("_today" if f.get("days") == 0 else "_yesterday")
    return key


def reason_text(item: NextItem, t: Texts) -> str:
    """One line: why — the LLM's faithful rewording when there is one, else the rules' text."""
    return t.words(item.reason) if item.reason else rule_reason(item, t)


def rule_reason(item: NextItem, t: Texts) -> str:
    """One line: why, from the facts (amounts, days, stage and its limit, dates), in the catalogue's words."""
    lang, f = t.language, item.facts
    values = {**{k: ("—" if v is None else fmt.inner(v) if isinstance(v, str) else v) for k, v in f.items()},
              "amount": _money(f, lang), "stage": f.get("stage_vi" if lang == "vi" else "stage_en") or "—",
              "kind": t(f"nba.reason.kind_{f.get('task_kind') or 'plain'}"), "due": _day(f.get("due_on"), lang),
              "close": _day(f.get("close_on"), lang),
              "lost": t("nba.reason.lost_deal", day=_day(f.get("lost_on"), lang)) if f.get("lost_on") else ""}
    return t(reason_key(item), **values)


def item_json(item: NextItem, t: Texts) -> dict[str, object]:
    """The contract's keys (interfaces.md `next --json`) and more: the facts, the subject, the score's parts.

    Stored texts are given as read in `t`'s language: what an erasure took out of a deal or task title, a name
    or a company (the `ERASED` marker, in no language) is worded (privacy.erased_text / erased_inline).
    """
    def words(value: str | None) -> str | None:
        return t.words(value) if value is not None else None

    return {"action": action_text(item, t), "reason": reason_text(item, t), "rule": item.rule, "score": item.score,
            "deal": words(item.deal), "contact": words(item.contact), "company": words(item.company),
            "due": item.due.isoformat() if item.due else None, "subject": item.subject, "deal_id": item.deal_id,
            "task_id": item.task_id,
            "facts": {key: t.words(value) if isinstance(value, str) else value for key, value in item.facts.items()},
            "value": item.value, "urgency": item.urgency,
            "likelihood": item.likelihood, "likelihood_basis": item.likelihood_basis,
            "reason_prompt": item.reason_prompt}


def list_text(found: NextList, t: Texts) -> str:
    """The list as one message: action line and reason line per item."""
    if not found.items:
        return t("nba.empty", name=found.name)
    lines = [t("nba.title", name=found.name, first=found.offset + 1, last=found.offset + len(found.items),
               total=found.total)]
    lines += [t("nba.item", n=found.offset + n, action=action_text(i, t), reason=reason_text(i, t))
              for n, i in enumerate(found.items, start=1)]
    return fmt.clip_lines("\n".join(lines), TEXT_LIMIT)


def digest_lines(items: list[NextItem], t: Texts) -> list[str]:
    """The morning digest's block of top actions."""
    if not items:
        return []
    return [t("nba.digest_title", count=len(items)),
            *[fmt.clip(t("nba.digest_line", action=action_text(i, t), reason=reason_text(i, t)), 300) for i in items]]


def stats_text(stats: NbaStats, t: Texts, viewer: UserOut | None) -> str:
    """Done / snoozed / ignored per rule; the mostly snoozed ones pointed out to admins."""
    shown = [r for r in stats.rules if r.shown or r.done or r.snoozed]
    if not shown:
        return t("nba.stats_none", days=stats.days)
    lines = [t("nba.stats_title", days=stats.days)]
    lines += [t("nba.stats_line", rule=t(f"nba.rule.{r.rule}") if t.has(f"nba.rule.{r.rule}") else r.rule,
                shown=r.shown, done=r.done, snoozed=r.snoozed, ignored=r.ignored) for r in shown]
    flagged = [t(f"nba.rule.{r.rule}") for r in stats.rules if r.mostly_snoozed]
    if flagged and (viewer is None or hears_snoozed_rules(viewer)):
        lines.append(t("nba.stats_flag", rules=", ".join(flagged)))
    return "\n".join(lines)


# --- buttons -------------------------------------------------------------------------------------------------


def subject_code(subject: str) -> str:
    """"deal:42" -> "d42" (callback data keeps ':' as its separator)."""
    kind, _, number = subject.partition(":")
    return f"{_SUBJECT_CODES[kind]}{number}"


def subject_of(cb: Callback, index: int = 0) -> str:
    """"d42" -> "deal:42"; a malformed one is stale."""
    code = cb.args[index] if index < len(cb.args) else ""
    kind = _CODE_SUBJECTS.get(code[:1])
    if kind is None or not code[1:].isdigit() or len(code) > 11:
        raise StaleCallback(f"no subject in {code!r}")
    return f"{kind}:{int(code[1:])}"


def _open_target(item: NextItem) -> tuple[str, int] | None:
    if item.deal_id is not None:
        return "d", item.deal_id
    if item.company_id is not None:
        return "c", item.company_id
    if item.contact_id is not None:
        return "p", item.contact_id
    return None


def list_keyboard(found: NextList, t: Texts, viewer: UserOut) -> Keyboard | None:
    """[Done n] [Snooze n] [Open n] per item on one's own list (Open only on a colleague's), then paging."""
    own = answers_next_of(viewer, found.user_id)
    rows: list[list[Button]] = []
    for n, item in enumerate(found.items, start=found.offset + 1):
        row = []
        if own:
            code = subject_code(item.subject)
            row += [Button(f"{t('nba.btn_done')} {n}", pack("nba", "done", code)),
                    Button(f"{t('nba.btn_snooze')} {n}", pack("nba", "snz", code))]
        target = _open_target(item)
        if target is not None:
            row.append(Button(f"{t('nba.btn_open')} {n}", pack("nba", "open", f"{target[0]}{target[1]}")))
        rows.append(row)
    nav = []
    if found.offset > 0:
        nav.append(Button(t("nba.btn_back"), pack("nba", "page", found.user_id, max(0, found.offset - PAGE))))
    if found.offset + len(found.items) < found.total:
        nav.append(Button(t("nba.btn_more"), pack("nba", "page", found.user_id, found.offset + PAGE)))
    rows.append(nav)
    return Keyboard.of(*rows)


def next_button(t: Texts) -> Button:
    """"Next": one's own list again (after a log is saved, a done, a snooze)."""
    return Button(t("nba.btn_next"), pack("nba", "next"))


async def _list_reply(ctx: Ctx, user_id: int | None, offset: int, *, edit: bool) -> Reply:
    found = await ctx.flows.nba.next_for(ctx.staff, user_id, limit=PAGE, offset=offset, record_shown=True,
                                         wording=lambda item: rule_reason(item, ctx.t), language=ctx.lang,
                                         words=ctx.t.words)
    return Reply(list_text(found, ctx.t), keyboard=list_keyboard(found, ctx.t, ctx.staff), edit=edit)


# --- commands ------------------------------------------------------------------------------------------------


@router.command("next", audience=Audience.STAFF)
async def on_next(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """`/next` (own list), `/next Lan` and `/next team` (managers), `/next stats` (managers)."""
    text = (msg.text or "").strip()
    arg = text.split(maxsplit=1)[1].strip() if " " in text else ""
    if not arg:
        return await _list_reply(ctx, None, 0, edit=False)
    if not sees_nba_stats(ctx.staff):
        # A salesperson may name herself; anyone else's list is a manager's.
        person = await ctx.services.users.by_name(arg)
        if person is not None and person.id == ctx.staff.id:
            return await _list_reply(ctx, None, 0, edit=False)
        return Reply(ctx.t("nba.only_own"))
    if arg.casefold() in ("team", "nhóm", "nhom", "cả nhóm"):
        lists = await ctx.flows.nba.team(ctx.staff)
        lines = [ctx.t("nba.team_title")]
        for one in lists:
            lines.append(ctx.t("nba.team_line", name=one.name, total=one.total,
                               action=action_text(one.items[0], ctx.t)) if one.items
                         else ctx.t("nba.team_none", name=one.name))
        buttons = [Button(fmt.clip(p.name, 20), pack("nba", "page", p.user_id, 0)) for p in lists if p.items][:8]
        return Reply(fmt.clip_lines("\n".join(lines), TEXT_LIMIT), keyboard=Keyboard.of(buttons[:4], buttons[4:]))
    if arg.casefold() in ("stats", "thống kê", "thong ke"):
        return Reply(stats_text(await ctx.flows.nba.stats(ctx.staff), ctx.t, ctx.staff))
    person = await ctx.services.users.by_name(arg)
    if person is None:
        return Reply(ctx.t("nba.no_person", name=fmt.clip(arg, 40)))
    return await _list_reply(ctx, person.id, 0, edit=False)


@router.callback("nba", audience=Audience.STAFF)
async def on_nba_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Done, Snooze, Open, paging, Next, and Add a note after a done."""
    t, nba = ctx.t, ctx.flows.nba
    if cb.action == "next":
        return await _list_reply(ctx, None, 0, edit=False)
    if cb.action == "page":
        return await _list_reply(ctx, cb.arg_int(0), cb.arg_int(1, allow_zero=True), edit=True)
    if cb.action == "open":
        code = cb.args[0] if cb.args else ""
        if not code[1:].isdigit():
            raise StaleCallback(code)
        record_id = int(code[1:])
        if code[:1] == "d":
            return await deal_card(ctx, record_id)
        if code[:1] == "c":
            return await customer_card(ctx, record_id)
        if code[:1] == "p":
            return await person_card(ctx, record_id)
        raise StaleCallback(code)
    if cb.action == "note":
        await ctx.set_state(NOTE_STATE, {"interaction": cb.arg_int(0)})
        return Reply(t("nba.ask_note"))
    subject = subject_of(cb)
    try:
        item = await nba.current(ctx.staff, subject)
    except AlreadyDone:
        return Reply(t("nba.gone"), keyboard=Keyboard.of([next_button(t)]))
    action = action_text(item, t)
    if cb.action == "done":
        outcome = await nba.done(ctx.staff, subject, summary=t("nba.done_summary", action=action))
        if outcome.task_done is not None:
            return Reply(t("nba.done_task", title=item.facts.get("title") or action),
                         keyboard=Keyboard.of([next_button(t)]))
        buttons = [Button(t("nba.btn_note"), pack("nba", "note", outcome.logged))] if outcome.logged else []
        return Reply(t("nba.done_logged", action=action), keyboard=Keyboard.of([*buttons, next_button(t)]))
    if cb.action == "snz":
        outcome = await nba.snooze(ctx.staff, subject)
        assert outcome.until is not None
        until = fmt.moment(outcome.until, ctx.lang, ctx.settings.tz)
        return Reply(t("nba.snoozed", until=until, action=action), keyboard=Keyboard.of([next_button(t)]))
    raise StaleCallback(cb.action)


@router.state(NOTE_STATE, audience=Audience.STAFF, short=True)
async def on_note(msg: Inbound, ctx: Ctx, data: dict[str, object]) -> HandlerResult:
    """The one-line note typed after "Add a note"."""
    await ctx.clear_state()
    interaction_id = data.get("interaction")
    if isinstance(interaction_id, int) and (msg.text or "").strip():
        await ctx.flows.nba.add_note(ctx.staff, interaction_id, fmt.clip((msg.text or "").strip(), 300))
    return Reply(ctx.t("nba.note_saved"), keyboard=Keyboard.of([next_button(ctx.t)]))


@router.periodic
async def refresh_value_tiers(flows: Flows, settings: Settings, channel: str) -> list[Reply]:
    """Nightly: recompute the customers' value tiers (once a day, after CHATCRM_NBA__TIERS_HOUR)."""
    await flows.nba.refresh_tiers_if_due()
    return []


__all__ = ["action_text", "digest_lines", "item_json", "list_text", "reason_text", "router", "stats_text"]
