"""The admin's CSV of pairs and sessions: dates, topics and status, never anyone's private text."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from bot.core.members import workspace_for
from bot.core.models import Meeting, Member, MentorRequest, Pairing

COLUMNS = (
    "pair_id",
    "mentor_id",
    "mentor",
    "mentee_id",
    "mentee",
    "pair_topic",
    "pair_status",
    "pair_started_utc",
    "pair_ended_utc",
    "session_id",
    "session_starts_utc",
    "session_minutes",
    "session_topic",
    "session_status",
)
# A cell starting with one of these runs as a formula in a spreadsheet; a quote keeps it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_filename(now: datetime) -> str:
    return f"mentor-coach-pairs-{now:%Y-%m-%d}.csv"


def pairs_csv(session: Session, team_id: str, now: datetime) -> tuple[str, int, int]:
    """One row per session, and one for each pair that has none yet; in one query.

    Returns the CSV text, how many pairs and how many sessions it holds. Notes, goals,
    agenda items, advice and thank-you text stay out: only what the program itself records.
    """
    workspace_id = workspace_for(session, team_id, now).id
    mentor, mentee = aliased(Member), aliased(Member)
    rows = session.execute(
        select(
            Pairing.id,
            mentor.slack_user_id,
            mentor.display_name,
            mentor.real_name,
            mentee.slack_user_id,
            mentee.display_name,
            mentee.real_name,
            MentorRequest.topic_query,
            Pairing.status,
            Pairing.started_at,
            Pairing.ended_at,
            Meeting.id,
            Meeting.starts_at,
            Meeting.duration_minutes,
            Meeting.topic,
            Meeting.status,
        )
        .join(mentor, mentor.id == Pairing.mentor_id)
        .join(mentee, mentee.id == Pairing.mentee_id)
        .outerjoin(MentorRequest, MentorRequest.id == Pairing.request_id)
        .outerjoin(Meeting, Meeting.pairing_id == Pairing.id)
        .where(Pairing.workspace_id == workspace_id)
        .order_by(Pairing.started_at, Pairing.id, Meeting.starts_at, Meeting.id)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    pairs: set[int] = set()
    sessions = 0
    for row in rows:
        (pair_id, mentor_id, mentor_display, mentor_real, mentee_id, mentee_display,
         mentee_real, topic_query, pair_status, started, ended, meeting_id, starts,
         minutes, meeting_topic, meeting_status) = row  # fmt: skip
        pairs.add(pair_id)
        sessions += meeting_id is not None
        writer.writerow(
            _cell(value)
            for value in (
                pair_id,
                mentor_id,
                mentor_display or mentor_real,
                mentee_id,
                mentee_display or mentee_real,
                topic_query,
                pair_status,
                started,
                ended,
                meeting_id,
                starts,
                minutes,
                meeting_topic,
                meeting_status,
            )
        )
    return out.getvalue(), len(pairs), sessions


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    text = str(getattr(value, "value", value))
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
