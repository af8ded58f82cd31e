"""Pipelines from the phone (admins): /pipelines, a pipeline's stages, a stage's settings, templates.

Buttons carry ids (`pipe:v1:stage:12`), never names; typed values (a new name, a probability, days) are the
admin's next message in the `pipe_input` dialog. Removing a stage that holds deals first asks where they go.
"""

from __future__ import annotations

from bot.core.callbacks import Callback, pack
from bot.core.context import Ctx
from bot.core.inputs import read_bounded
from bot.core.messages import Button, Inbound, Keyboard, Reply
from bot.core.router import HandlerResult, Router
from crm_core.policy import Audience
from crm_core.schemas import PipelineOut, StageOut
from crm_core.services.pipelines import MAX_STALL_DAYS

router = Router()
INPUT_STATE = "pipe_input"
_INPUTS = ("rename", "probability", "stall", "add")
_MOST = {"probability": 100, "stall": MAX_STALL_DAYS}
_UNIT = {"probability": "percent", "stall": "days"}  # the words that may follow the number ("15%", "10 ngày")


@router.command("pipelines", audience=Audience.ADMINS)
async def on_pipelines(msg: Inbound, ctx: Ctx) -> HandlerResult:
    """List the pipelines, with a button to open each and one to add a pipeline from a template."""
    return await _list(ctx, edit=False)


async def _list(ctx: Ctx, *, edit: bool) -> Reply:
    pipelines = await ctx.flows.pipelines.all(ctx.user)
    lines = [ctx.t("pipes.title")]
    for p in pipelines:
        lines.append(ctx.t("pipes.line", name=p.name(ctx.lang), stages=len(p.stages),
                           deals=sum(p.open_deals.values()), default=ctx.t("pipes.default") if p.is_default else ""))
    buttons = [Button(p.name(ctx.lang)[:60], pack("pipe", "open", p.id)) for p in pipelines]
    buttons.append(Button(ctx.t("pipes.btn_template"), pack("pipe", "templates")))
    return Reply("\n".join(lines), keyboard=Keyboard.column(buttons), edit=edit)


def _stage_line(ctx: Ctx, n: int, stage: StageOut, deals: int) -> str:
    stall = (ctx.t("pipes.stall_days", days=stage.stalled_after_days) if stage.stalled_after_days
             else ctx.t("pipes.no_stall"))
    return ctx.t("pipes.stage_line", n=n, name=stage.name(ctx.lang), probability=stage.probability, stall=stall,
                 deals=deals)


def _pipeline_card(ctx: Ctx, pipeline: PipelineOut, *, edit: bool = True) -> Reply:
    lines = [ctx.t("pipes.card", name=pipeline.name(ctx.lang),
                   default=ctx.t("pipes.default") if pipeline.is_default else "")]
    lines += [_stage_line(ctx, n, s, pipeline.open_deals.get(s.id, 0)) for n, s in enumerate(pipeline.stages, 1)]
    lines.append(ctx.t("pipes.card_hint"))
    buttons = [Button(s.name(ctx.lang)[:40], pack("pipe", "stage", s.id)) for s in pipeline.stages]
    extra = [Button(ctx.t("pipes.btn_add_stage"), pack("pipe", "ask", "add", pipeline.id))]
    if not pipeline.is_default:
        extra.append(Button(ctx.t("pipes.btn_default"), pack("pipe", "default", pipeline.id)))
    extra.append(Button(ctx.t("btn.back"), pack("pipe", "list")))
    return Reply("\n".join(lines), keyboard=Keyboard.of(*[buttons[i:i + 3] for i in range(0, len(buttons), 3)],
                                                        extra), edit=edit)


async def _stage_card(ctx: Ctx, stage_id: int, *, edit: bool = True, note: str | None = None) -> Reply:
    pipeline, stage = await _find_stage(ctx, stage_id)
    stall = (ctx.t("pipes.stall_days", days=stage.stalled_after_days) if stage.stalled_after_days
             else ctx.t("pipes.no_stall"))
    text = ctx.t("pipes.stage_card", name_vi=stage.name_vi, name_en=stage.name_en, code=stage.key,
                 probability=stage.probability, stall=stall, deals=pipeline.open_deals.get(stage.id, 0),
                 pipeline=pipeline.name(ctx.lang))
    rows = [[Button(ctx.t("pipes.btn_rename"), pack("pipe", "ask", "rename", stage.id))]]
    if not (stage.is_won or stage.is_lost):
        rows[0] += [Button(ctx.t("pipes.btn_probability"), pack("pipe", "ask", "probability", stage.id)),
                    Button(ctx.t("pipes.btn_stall"), pack("pipe", "ask", "stall", stage.id))]
        rows.append([Button("⬆️", pack("pipe", "up", stage.id)), Button("⬇️", pack("pipe", "down", stage.id)),
                     Button(ctx.t("pipes.btn_remove"), pack("pipe", "remove", stage.id))])
    rows.append([Button(ctx.t("btn.back"), pack("pipe", "open", pipeline.id))])
    return Reply(f"{note}\n\n{text}" if note else text, keyboard=Keyboard.of(*rows), edit=edit)


async def _find_stage(ctx: Ctx, stage_id: int) -> tuple[PipelineOut, StageOut]:
    for pipeline in await ctx.flows.pipelines.all(ctx.user):
        for stage in pipeline.stages:
            if stage.id == stage_id:
                return pipeline, stage
    from crm_core.errors import NotFound

    raise NotFound("no such stage")


@router.callback("pipe", audience=Audience.ADMINS)
async def on_pipe_button(msg: Inbound, ctx: Ctx, cb: Callback) -> HandlerResult:
    """Every pipeline button; each checks the admin again in its flow."""
    flow = ctx.flows.pipelines
    if cb.action == "list":
        return await _list(ctx, edit=True)
    if cb.action == "open":
        return _pipeline_card(ctx, await flow.get(ctx.user, cb.arg_int(0)))
    if cb.action == "templates":
        buttons = [Button(t.name(ctx.lang)[:60], pack("pipe", "add", t.key)) for t in flow.templates(ctx.user)]
        buttons.append(Button(ctx.t("btn.back"), pack("pipe", "list")))
        return Reply(ctx.t("pipes.pick_template"), keyboard=Keyboard.column(buttons), edit=True)
    if cb.action == "add":
        pipeline = await flow.add_from_template(ctx.user, cb.args[0])
        card = _pipeline_card(ctx, pipeline)
        return Reply(ctx.t("pipes.added", name=pipeline.name(ctx.lang)) + "\n\n" + card.text, keyboard=card.keyboard,
                     edit=True)
    if cb.action == "default":
        return _pipeline_card(ctx, await flow.make_default(ctx.user, cb.arg_int(0)))
    if cb.action == "stage":
        return await _stage_card(ctx, cb.arg_int(0))
    if cb.action in ("up", "down"):
        stage_id = cb.arg_int(0)
        await flow.move_stage(ctx.user, stage_id, -1 if cb.action == "up" else 1)
        pipeline, _ = await _find_stage(ctx, stage_id)
        return _pipeline_card(ctx, pipeline)
    if cb.action == "remove":
        return await _remove(ctx, cb.arg_int(0))
    if cb.action == "moveto":
        return await _remove(ctx, cb.arg_int(0), move_to=cb.arg_int(1))
    if cb.action == "ask" and cb.args and cb.args[0] in _INPUTS:
        what, target = cb.args[0], cb.arg_int(1)
        if what != "add":
            await _find_stage(ctx, target)  # a stage that is gone is said now, not after the admin typed
        await ctx.set_state(INPUT_STATE, {"what": what, "id": target})
        return Reply(ctx.t(f"pipes.ask_{what}"))
    raise ValueError(cb.action)


async def _remove(ctx: Ctx, stage_id: int, *, move_to: int | None = None) -> Reply:
    pipeline, stage = await _find_stage(ctx, stage_id)
    deals = pipeline.open_deals.get(stage_id, 0)
    if deals and move_to is None:
        targets = [s for s in pipeline.stages if s.id != stage_id and not (s.is_won or s.is_lost)]
        buttons = [Button(s.name(ctx.lang)[:40], pack("pipe", "moveto", stage_id, s.id)) for s in targets]
        buttons.append(Button(ctx.t("btn.back"), pack("pipe", "stage", stage_id)))
        return Reply(ctx.t("pipes.remove_where", name=stage.name(ctx.lang), deals=deals),
                     keyboard=Keyboard.column(buttons, per_row=2), edit=True)
    moved = await ctx.flows.pipelines.remove_stage(ctx.user, stage_id, move_to=move_to)
    card = _pipeline_card(ctx, await ctx.flows.pipelines.get(ctx.user, pipeline.id))
    note = ctx.t("pipes.removed", name=stage.name(ctx.lang), deals=moved)
    return Reply(f"{note}\n\n{card.text}", keyboard=card.keyboard, edit=True)


# An admin's dialog: it expires and any command ends it, so a call log sent later is never taken as a stage name.
@router.state(INPUT_STATE, audience=Audience.ADMINS, admin=True)
async def on_pipe_input(msg: Inbound, ctx: Ctx, data: dict[str, object]) -> HandlerResult:
    """The admin's typed value for a stage: a name, a probability (0-100) or days (0: never stalled)."""
    what, target = str(data.get("what")), int(str(data.get("id")))
    text = (msg.text or "").strip()
    flow = ctx.flows.pipelines
    if what in _MOST:
        read = read_bounded(text, 0, _MOST[what], unit=_UNIT[what])
        if read.value is None:  # still waiting for a number: what is wrong with this one, and what to type
            return Reply(ctx.t(f"pipes.number_{read.problem}", **read.details) + " "
                         + ctx.t(f"pipes.bad_{what}", most=_MOST[what]) + "\n" + ctx.t("pipes.type_again"))
        value = read.value
        if what == "probability":
            await flow.set_probability(ctx.user, target, value)
        else:
            await flow.set_stall_days(ctx.user, target, value)
        await ctx.clear_state()
        return await _stage_card(ctx, target, edit=False, note=ctx.t("pipes.saved"))
    if what == "rename":
        await flow.rename_stage(ctx.user, target, text, language=ctx.lang)
        await ctx.clear_state()
        return await _stage_card(ctx, target, edit=False, note=ctx.t("pipes.saved"))
    stage = await flow.add_stage(ctx.user, target, text, language=ctx.lang)
    await ctx.clear_state()
    return await _stage_card(ctx, stage.id, edit=False, note=ctx.t("pipes.stage_added", name=stage.name(ctx.lang)))
