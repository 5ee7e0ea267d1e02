"""calendar events: each session's calendar UID, SEQUENCE and place in its series' rule

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 15:30:00.000000
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_uid", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("calendar_sequence", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("calendar_slot", sa.DateTime(timezone=True), nullable=True))
    meeting = sa.table(
        "meeting",
        sa.column("id", sa.Integer),
        sa.column("series_id", sa.String),
        sa.column("calendar_uid", sa.String),
        sa.column("starts_at", sa.DateTime(timezone=True)),
        sa.column("moved_from", sa.DateTime(timezone=True)),
        sa.column("calendar_slot", sa.DateTime(timezone=True)),
    )
    # A series is one event (its id is already a UUID); a moved session's slot is where it was.
    op.execute(
        meeting.update().values(
            calendar_uid=meeting.c.series_id,
            calendar_slot=sa.func.coalesce(meeting.c.moved_from, meeting.c.starts_at),
        )
    )
    singles = op.get_bind().execute(sa.select(meeting.c.id).where(meeting.c.calendar_uid.is_(None)))
    updates = [{"key": row.id, "uid": str(uuid.uuid4())} for row in singles]
    if updates:
        op.get_bind().execute(
            meeting.update()
            .where(meeting.c.id == sa.bindparam("key"))
            .values(calendar_uid=sa.bindparam("uid")),
            updates,
        )


def downgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("calendar_slot")
        batch_op.drop_column("calendar_sequence")
        batch_op.drop_column("calendar_uid")
