"""respect: advice, mentor notes, re-frame invitations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 19:56:43.169569
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "advice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "worked",
                "working",
                "didnt_fit",
                name="advice_outcome",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_advice_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mentee_id"],
            ["member.id"],
            name=op.f("fk_advice_mentee_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advice")),
    )
    with op.batch_alter_table("advice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_advice_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "mentor_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["member.id"],
            name=op.f("fk_mentor_note_author_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_mentor_note_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_note")),
    )
    with op.batch_alter_table("mentor_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mentor_note_meeting_id"), ["meeting_id"], unique=False)

    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reframe_invited_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("success", schema=None) as batch_op:
        batch_op.drop_column("channel_id")
        batch_op.drop_column("message_ts")


def downgrade() -> None:
    with op.batch_alter_table("success", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_ts", sa.VARCHAR(length=32), nullable=True))
        batch_op.add_column(sa.Column("channel_id", sa.VARCHAR(length=32), nullable=True))

    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("reframe_invited_at")

    with op.batch_alter_table("mentor_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mentor_note_meeting_id"))

    op.drop_table("mentor_note")
    with op.batch_alter_table("advice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advice_meeting_id"))

    op.drop_table("advice")
