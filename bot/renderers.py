"""The one table the delivery tick reads: each outbox kind's renderer and hook."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.calendar.blocks import CALENDAR_RENDERERS
from bot.core.blocks import build_delivery_failed
from bot.core.models import Member, OutboxMessage
from bot.core.outbox import NOTICE_KIND, NoticeWriter, Outgoing, Rendered, Renderer, Skip
from bot.find.blocks import CLOSING_RENDERERS, INTROS_RENDERERS, WISHES_RENDERERS
from bot.prepare.blocks import MEETINGS_RENDERERS
from bot.program.blocks import PROGRAM_RENDERERS, ROUND_RENDERERS
from bot.reframe.blocks import REFRAME_RENDERERS
from bot.respect.blocks import CHECKINS_RENDERERS, SUCCESSES_NOTICE_WRITERS, SUCCESSES_RENDERERS

# Kind-specific wording for "what you sent could not be delivered"; the rest use the generic.
NOTICE_WRITERS: dict[str, NoticeWriter] = {**SUCCESSES_NOTICE_WRITERS}


def render_delivery_failed(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    """Notices to the people whose messages failed for good, worded by what failed."""
    failed = {
        row.id: row
        for row in session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_({row.subject_id for row in rows}))
        )
    }
    names = _recipient_names(session, failed.values())
    rendered: dict[int, Rendered] = {}
    for row in rows:
        original = failed.get(row.subject_id or 0)
        if original is None:
            rendered[row.id] = Skip("the undelivered message is gone")
            continue
        writer = NOTICE_WRITERS.get(original.kind)
        message = writer(session, original) if writer else None
        if message is None:
            error = original.last_error or ""
            message = build_delivery_failed(original.kind, names.get(original.id), error)
        rendered[row.id] = Outgoing.of(message)
    return rendered


def _recipient_names(session: Session, rows: Iterable[OutboxMessage]) -> dict[int, str]:
    """Who each failed row was for: the member, or the others in a group DM."""
    rows = list(rows)
    member_ids = {row.recipient_member_id for row in rows if row.recipient_member_id}
    user_ids = {u for row in rows if row.recipient_group for u in row.recipient_group.split(",")}
    found = session.scalars(
        select(Member).where(or_(Member.id.in_(member_ids), Member.slack_user_id.in_(user_ids)))
    ).all()
    by_id = {member.id: member for member in found}
    by_user = {(member.workspace_id, member.slack_user_id): member for member in found}
    names: dict[int, str] = {}
    for row in rows:
        if row.recipient_member_id in by_id:
            names[row.id] = by_id[row.recipient_member_id].name
        elif row.recipient_group:
            group = [by_user.get((row.workspace_id, u)) for u in row.recipient_group.split(",")]
            others = [m.name for m in group if m is not None and m.id != row.actor_member_id]
            if others:
                names[row.id] = " and ".join(others)
    return names


RENDERERS: dict[str, Renderer] = {
    **INTROS_RENDERERS,
    **CLOSING_RENDERERS,
    **MEETINGS_RENDERERS,
    **CALENDAR_RENDERERS,
    **CHECKINS_RENDERERS,
    **SUCCESSES_RENDERERS,
    **REFRAME_RENDERERS,
    **WISHES_RENDERERS,
    **PROGRAM_RENDERERS,
    **ROUND_RENDERERS,
    NOTICE_KIND: render_delivery_failed,
}
