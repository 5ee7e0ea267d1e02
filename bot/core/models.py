"""Database models: the single source of truth for members, pairs, meetings and the outbox."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, time
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

MAX_TEXT = 1000

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DEFAULT_CAPACITY = 2
MAX_CAPACITY = 10


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite stores them naive, so we put the zone back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _status(enum_class: type[enum.Enum], name: str) -> Enum:
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime()}


class TopicKind(enum.StrEnum):
    OFFERED = "offered"
    SOUGHT = "sought"


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class PairingStatus(enum.StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class MeetingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    MISSED = "missed"
    CANCELLED = "cancelled"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Workspace(Base):
    __tablename__ = "workspace"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # Slack said 429: no delivery to this workspace before this moment, from any process.
    rate_limited_until: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Member(Base):
    """A Slack user who has touched the bot; mentor, mentee or both."""

    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("workspace_id", "slack_user_id", name="uq_member_workspace_user"),
        CheckConstraint(f"capacity BETWEEN 1 AND {MAX_CAPACITY}", name="capacity_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    real_name: Mapped[str] = mapped_column(String(200), default="")
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_mentor: Mapped[bool] = mapped_column(Boolean, default=False)
    is_mentee: Mapped[bool] = mapped_column(Boolean, default=False)
    goals: Mapped[str] = mapped_column(Text, default="")
    background: Mapped[str] = mapped_column(Text, default="")
    experience: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int] = mapped_column(Integer, default=DEFAULT_CAPACITY)
    paused_until: Mapped[datetime | None]
    # The person's own working hours, on their clock; None means the program's QUIET_HOURS apply.
    work_start: Mapped[time | None]
    work_end: Mapped[time | None]
    dm_channel_id: Mapped[str | None] = mapped_column(String(32))
    profile_saved_at: Mapped[datetime | None]
    reframe_invited_at: Mapped[datetime | None]
    # Oldest first for the daily users.info refresh (names and zones change).
    synced_at: Mapped[datetime | None] = mapped_column(index=True)
    # Set by forget-me: the row stays only so partners' history holds together, anonymised
    # (slack_user_id "former-<id>"); Slack is never asked about it again.
    forgotten_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    topics: Mapped[list[MemberTopic]] = relationship(
        back_populates="member", cascade="all, delete-orphan", lazy="selectin"
    )
    workspace: Mapped[Workspace] = relationship(lazy="joined", innerjoin=True)

    @property
    def name(self) -> str:
        return self.display_name or self.real_name or self.slack_user_id

    def topic_names(self, kind: TopicKind) -> list[str]:
        return sorted(
            (link.topic.name for link in self.topics if link.kind == kind), key=str.casefold
        )


class Topic(Base):
    """A subject people offer or seek: `slug` is the normalised key, `name` as first typed."""

    __tablename__ = "topic"
    __table_args__ = (UniqueConstraint("workspace_id", "slug", name="uq_topic_workspace_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(60))


class MemberTopic(Base):
    __tablename__ = "member_topic"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    kind: Mapped[TopicKind] = mapped_column(_status(TopicKind, "topic_kind"), primary_key=True)
    # What the person wants from this sought topic; None: their profile's general goal applies.
    goal: Mapped[str | None] = mapped_column(Text)

    member: Mapped[Member] = relationship(back_populates="topics")
    topic: Mapped[Topic] = relationship(lazy="joined")


class MentorRequest(Base):
    """A mentee's ask for an introduction to one mentor."""

    __tablename__ = "mentor_request"
    __table_args__ = (
        Index("ix_mentor_request_mentor_status", "mentor_id", "status"),
        Index("ix_mentor_request_mentee_status", "mentee_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    note: Mapped[str] = mapped_column(Text)
    # The topic words the mentee searched for, so "find the next match" can search again.
    topic_query: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # What the mentee wants from this topic, as it was when they asked.
    goal: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[RequestStatus] = mapped_column(
        _status(RequestStatus, "request_status"), default=RequestStatus.PENDING
    )
    decline_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    responded_at: Mapped[datetime | None]

    mentee: Mapped[Member] = relationship(foreign_keys=[mentee_id])
    mentor: Mapped[Member] = relationship(foreign_keys=[mentor_id])


class Pairing(Base):
    """A mentor and a mentee working together."""

    __tablename__ = "pairing"
    __table_args__ = (
        Index(
            "uq_pairing_active_pair",
            "mentor_id",
            "mentee_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_pairing_mentee_status", "mentee_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentor_request.id", ondelete="SET NULL")
    )
    status: Mapped[PairingStatus] = mapped_column(
        _status(PairingStatus, "pairing_status"), default=PairingStatus.ACTIVE
    )
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # The last "time to meet again?" nudge (daily job or an admin's button): once a fortnight.
    nudged_at: Mapped[datetime | None]

    mentor: Mapped[Member] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[Member] = relationship(foreign_keys=[mentee_id])
    request: Mapped[MentorRequest | None] = relationship()

    def person(self, slack_user_id: str) -> Member | None:
        """Which of the two this Slack user is, or None for anyone else."""
        return next(
            (m for m in (self.mentor, self.mentee) if m.slack_user_id == slack_user_id), None
        )


class Meeting(Base):
    """One session of a pair; a recurring series shares a `series_id`."""

    __tablename__ = "meeting"
    __table_args__ = (
        CheckConstraint("duration_minutes BETWEEN 5 AND 240", name="duration_range"),
        Index("ix_meeting_pairing_starts", "pairing_id", "starts_at"),
        Index("ix_meeting_status_starts", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pairing_id: Mapped[int] = mapped_column(ForeignKey("pairing.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(Integer, default=30)
    status: Mapped[MeetingStatus] = mapped_column(
        _status(MeetingStatus, "meeting_status"), default=MeetingStatus.SCHEDULED
    )
    series_id: Mapped[str | None] = mapped_column(String(36), index=True)
    cadence_weeks: Mapped[int | None]
    topic: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    # The start before the latest move, so the notice can say what changed ("… moved to …").
    moved_from: Mapped[datetime | None]
    # One instant per cancellation, so a notice counts exactly the sessions cancelled together.
    cancelled_at: Mapped[datetime | None]
    # The calendar event this session is part of (a series shares one): its UID, the highest
    # SEQUENCE sent about it, and where the series' rule puts this session (its RECURRENCE-ID).
    calendar_uid: Mapped[str | None] = mapped_column(String(64))
    calendar_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    calendar_slot: Mapped[datetime | None]

    pairing: Mapped[Pairing] = relationship()
    agenda: Mapped[list[AgendaItem]] = relationship(
        order_by="AgendaItem.id", cascade="all, delete-orphan"
    )
    advice: Mapped[list[Advice]] = relationship(order_by="Advice.id", viewonly=True)


class AgendaItem(Base):
    """A question to cover in a meeting; items typed in a DM remember that message."""

    __tablename__ = "agenda_item"
    __table_args__ = (
        UniqueConstraint("source_channel_id", "source_ts", name="uq_agenda_item_source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    source_channel_id: Mapped[str | None] = mapped_column(String(32))
    source_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]

    author: Mapped[Member] = relationship()


class GratitudeNote(Base):
    """A written thank-you from one member to another."""

    __tablename__ = "gratitude_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    from_member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    to_member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), index=True
    )
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    sender: Mapped[Member] = relationship(foreign_keys=[from_member_id])
    recipient: Mapped[Member] = relationship(foreign_keys=[to_member_id])


class MentorNote(Base):
    """A note or follow-up a mentor leaves for their mentee after a session."""

    __tablename__ = "mentor_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class AdviceOutcome(enum.StrEnum):
    WORKED = "worked"
    WORKING = "working"
    DIDNT_FIT = "didnt_fit"


class Advice(Base):
    """Advice from a session that the mentee chose to apply, and how applying it went."""

    __tablename__ = "advice"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    mentee_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[AdviceOutcome | None] = mapped_column(_status(AdviceOutcome, "advice_outcome"))
    created_at: Mapped[datetime]
    outcome_at: Mapped[datetime | None]


class Success(Base):
    """A win a mentee shares, crediting a mentor; optionally posted to the success channel."""

    __tablename__ = "success"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    mentor_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    share_publicly: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]

    author: Mapped[Member] = relationship(foreign_keys=[author_id])
    mentor: Mapped[Member | None] = relationship(foreign_keys=[mentor_id])


class OutboxMessage(Base):
    """A message someone must receive, now or later; the delivery tick claims and sends it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(
            "CASE WHEN recipient_member_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN recipient_channel_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN recipient_group IS NULL THEN 0 ELSE 1 END = 1",
            name="one_recipient",
        ),
        # The claim's order: it reads the first due rows and stops, however long the backlog.
        Index("ix_outbox_message_status_due_id", "status", "due_at", "id"),
        Index("ix_outbox_message_subject", "subject_type", "subject_id"),
        # What each person was sent lately (the daily nudge limit), whatever the history's size;
        # it leads with the member, so it also serves the foreign key.
        Index("ix_outbox_message_recipient_sent", "recipient_member_id", "status", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    recipient_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE")
    )
    recipient_channel_id: Mapped[str | None] = mapped_column(String(32))
    # Slack user ids, comma-separated: a group DM opened at send time (a pair's introduction).
    recipient_group: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str | None] = mapped_column(String(20))
    subject_id: Mapped[int | None]
    # urgent: exempt from the daily nudge limit. solicited: the recipient asked for it, so it
    # reaches them even while they have paused the program.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    solicited: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime]
    # When the message stops being useful (its session starts, its request expires): quiet
    # hours and daily limits may delay it up to this moment, never past it.
    deadline_at: Mapped[datetime | None]
    status: Mapped[OutboxStatus] = mapped_column(
        _status(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(36), index=True)
    # Set just before a post and cleared once Slack's answer is known: while set, the post may
    # have landed, so the next attempt looks in this channel's history (since then) first.
    attempt_channel_id: Mapped[str | None] = mapped_column(String(32))
    attempt_started_at: Mapped[datetime | None]
    # Whose action caused the message: told, kindly, if it can never be delivered.
    actor_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL")
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    sent_channel_id: Mapped[str | None] = mapped_column(String(32))
    sent_ts: Mapped[str | None] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]


class ProcessedEvent(Base):
    """A Slack event id we have handled, so Slack's retries are not handled twice."""

    __tablename__ = "processed_event"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class IdempotencyKey(Base):
    """A modal submission already acted on; a double submit or retried request finds it here.

    Taken inside the same transaction as the work, so it exists exactly when the work does.
    """

    __tablename__ = "idempotency_key"

    # sha256 of what identifies the request (workspace, person, view id and what was entered).
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)


class Block(Base):
    """Someone who does not want to be matched with another person, in either direction."""

    __tablename__ = "block"
    __table_args__ = (UniqueConstraint("blocker_id", "blocked_id", name="uq_block_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    blocker_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    blocked_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class Wish(Base):
    """'Tell me when someone offers this': a mentee waiting for a topic nobody offers yet."""

    __tablename__ = "wish"
    __table_args__ = (UniqueConstraint("member_id", "topic_key", name="uq_wish_member_topic"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    topic_key: Mapped[str] = mapped_column(String(60), index=True)
    topic_name: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime]
    notified_at: Mapped[datetime | None]


class FindRecord(Base):
    """One /mentor find search: where the admin's funnel starts."""

    __tablename__ = "find_record"
    __table_args__ = (Index("ix_find_record_workspace_created", "workspace_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class FindChange(Base):
    """A mentor whose findable details changed: each process's find index reloads them."""

    __tablename__ = "find_change"
    __table_args__ = (Index("ix_find_change_workspace_stamp", "workspace_id", "stamp"),)

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    # Wall-clock microseconds at the flush: readers look back a while, so a transaction that
    # commits after a later one is still seen.
    stamp: Mapped[int] = mapped_column(BigInteger)


class RoundStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    DISCARDED = "discarded"


class RoundUnmatched(enum.StrEnum):
    """Why a waiting mentee got no mentor in a round (bot/program/rounds.Unmatched)."""

    NO_MENTOR = "no_mentor"
    FULL = "full"
    NOT_AVAILABLE = "not_available"


class MatchingRound(Base):
    """An admin's batch matching round: a draft until approved (requests go out) or discarded."""

    __tablename__ = "matching_round"
    __table_args__ = (Index("ix_matching_round_workspace_status", "workspace_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    status: Mapped[RoundStatus] = mapped_column(
        _status(RoundStatus, "round_status"), default=RoundStatus.DRAFT
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    # How many mentees were waiting and how many mentor places were free when it was drafted.
    waiting: Mapped[int] = mapped_column(Integer)
    free_slots: Mapped[int] = mapped_column(Integer)


class RoundProposal(Base):
    """One waiting mentee in a round: the mentor proposed, or why there was none."""

    __tablename__ = "round_proposal"
    __table_args__ = (
        UniqueConstraint("round_id", "mentee_id", name="uq_round_proposal_round_mentee"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("matching_round.id", ondelete="CASCADE"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    # The match score in millionths, whole so the round's totals add up exactly.
    score_micros: Mapped[int | None] = mapped_column(Integer)
    topics: Mapped[str] = mapped_column(String(200), default="")
    unmatched: Mapped[RoundUnmatched | None] = mapped_column(
        _status(RoundUnmatched, "round_unmatched")
    )
    # The intro request sent on approval; None while a draft, or if things changed since.
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentor_request.id", ondelete="SET NULL")
    )

    mentee: Mapped[Member] = relationship(foreign_keys=[mentee_id])
    mentor: Mapped[Member | None] = relationship(foreign_keys=[mentor_id])


# slack_sdk's own tables for OAuth installs (SQLAlchemyInstallationStore, SQLAlchemyOAuthStateStore
# in slack_sdk 3.47.0), made by migration 0013 and only ever used through slack_sdk. Declared
# here, column for column, so the schema check covers the whole database. Naive UTC times, as
# slack_sdk writes them.
def _slack_app_columns() -> list[Column]:
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("client_id", String(32), nullable=False),
        Column("app_id", String(32), nullable=False),
        Column("enterprise_id", String(32)),
        Column("enterprise_name", String(200)),
    ]


def _slack_bot_columns() -> list[Column]:
    return [
        Column("team_id", String(32)),
        Column("team_name", String(200)),
        Column("bot_token", String(200)),
        Column("bot_id", String(32)),
        Column("bot_user_id", String(32)),
        Column("bot_scopes", String(1000)),
        Column("bot_refresh_token", String(200)),
        Column("bot_token_expires_at", DateTime),
    ]


slack_installations = Table(
    "slack_installations",
    Base.metadata,
    *_slack_app_columns(),
    Column("enterprise_url", String(200)),
    *_slack_bot_columns(),
    Column("user_id", String(32), nullable=False),
    Column("user_token", String(200)),
    Column("user_scopes", String(1000)),
    Column("user_refresh_token", String(200)),
    Column("user_token_expires_at", DateTime),
    Column("incoming_webhook_url", String(200)),
    Column("incoming_webhook_channel", String(200)),
    Column("incoming_webhook_channel_id", String(200)),
    Column("incoming_webhook_configuration_url", String(200)),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("token_type", String(32)),
    Column("installed_at", DateTime, nullable=False),
    Index(
        "slack_installations_idx",
        "client_id",
        "enterprise_id",
        "team_id",
        "user_id",
        "installed_at",
    ),
)

slack_bots = Table(
    "slack_bots",
    Base.metadata,
    *_slack_app_columns(),
    *_slack_bot_columns(),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("installed_at", DateTime, nullable=False),
    Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

slack_oauth_states = Table(
    "slack_oauth_states",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
)
