"""What people see when invited to give back: invitations, digests, and their renderers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core import ids
from bot.core.blocks import Message, actions, button, context, one_line, section
from bot.core.models import Member, OutboxMessage, TopicKind
from bot.core.mrkdwn import escape
from bot.core.outbox import Outgoing, Rendered, Skip
from bot.reframe.invitations import impact, last_month

OUTSIDE_WORK = (
    "*Mentor outside work, too:* <https://veterati.com|Veterati> connects veterans and military "
    "families with mentors, and <https://www.bbbs.org|Big Brothers Big Sisters> matches adults "
    "with young people who could use one."
)


def build_reframe(member: Member, *, after_success: bool) -> Message:
    why = (
        "Congratulations on your win!"
        if after_success
        else "Three sessions in: you've been putting real work into this."
    )
    text = (
        f"{why} One of the best ways to keep growing is to mentor someone else. "
        f"{_what_you_know(member)} You'd choose the topics and how many mentees you take."
    )
    return {
        "text": "Would you like to mentor someone too?",
        "blocks": [
            section(f":seedling: {text}"),
            actions(button("Become a mentor", ids.BECOME_MENTOR_ACTION, style="primary")),
            context(OUTSIDE_WORK),
        ],
    }


def _what_you_know(member: Member) -> str:
    """Point at what the person already knows, never at what they are still learning."""
    learning = {name.casefold() for name in member.topic_names(TopicKind.SOUGHT)}
    known = [
        name for name in member.topic_names(TopicKind.OFFERED) if name.casefold() not in learning
    ]
    if known:
        topics = " and ".join(f"*{escape(name)}*" for name in known[:2])
        return f"You already know {topics}: someone just starting out there would learn a lot."
    if member.background or member.experience:
        path = one_line(member.background or member.experience).rstrip(".")
        return f"Your path ({escape(path)}) is exactly what someone a few steps behind needs."
    return "What do you know well that someone else is just starting on? That's your topic."


def build_digest(month_start: Any, held: int, thanks: int, wins: int) -> Message:
    def count(n: int, one: str, many: str) -> str:
        return f"{n} {one if n == 1 else many}"

    month = f"{month_start:%B}"
    text = (
        f":bar_chart: *Your mentoring in {month}:* {count(held, 'session held', 'sessions held')}, "
        f"{count(thanks, 'thank-you note', 'thank-you notes')}, "
        f"{count(wins, 'success credited to you', 'successes credited to you')}. "
        "Thank you for giving your time."
    )
    return {"text": f"Your mentoring in {month}.", "blocks": [section(text)]}


def render_reframe(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    members = {
        m.id: m
        for m in session.scalars(select(Member).where(Member.id.in_({r.subject_id for r in rows})))
    }
    rendered: dict[int, Rendered] = {}
    for row in rows:
        member = members.get(row.subject_id or 0)
        if member is None or member.is_mentor:
            rendered[row.id] = Skip("already a mentor")
            continue
        message = build_reframe(member, after_success=row.kind == "reframe_success")
        rendered[row.id] = Outgoing.of(message)
    return rendered


def render_digest(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    by_month: dict[tuple[datetime, datetime], list[OutboxMessage]] = {}
    for row in rows:
        by_month.setdefault(last_month(row.created_at.date()), []).append(row)
    rendered: dict[int, Rendered] = {}
    for (start, end), group in by_month.items():
        counts = impact(session, {r.subject_id for r in group if r.subject_id}, start, end)
        for row in group:
            held, thanks, wins = counts.get(row.subject_id or 0, (0, 0, 0))
            if not (held or thanks or wins):
                rendered[row.id] = Skip("no activity last month")
                continue
            message = build_digest(start, held, thanks, wins)
            rendered[row.id] = Outgoing.of(message)
    return rendered


REFRAME_RENDERERS = {
    "reframe_sessions": render_reframe,
    "reframe_success": render_reframe,
    "digest": render_digest,
}
