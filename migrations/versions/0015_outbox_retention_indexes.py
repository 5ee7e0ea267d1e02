"""outbox indexes: the claim's order, and what each person was sent lately, at any history size

The daily nudge limit looks up each recipient's sent rows of the last day. With only the
foreign key's index on recipient_member_id, that read every row ever sent to them; the new
index (recipient_member_id, status, sent_at) goes straight to the last day's, and, leading with
the member, still serves the foreign key, so it replaces the old one.

The claim reads due rows in (due_at, id) order and takes the first few: with id in the index
PostgreSQL walks it and stops, where (status, due_at) alone made it sort the whole backlog.
The claimed_by and subject lookups have had their indexes since 0005.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 15:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_message_recipient_sent", ["recipient_member_id", "status", "sent_at"]
        )
        batch_op.drop_index("ix_outbox_message_recipient_member_id")
        batch_op.create_index("ix_outbox_message_status_due_id", ["status", "due_at", "id"])
        batch_op.drop_index("ix_outbox_message_status_due")


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_message_status_due", ["status", "due_at"], unique=False)
        batch_op.drop_index("ix_outbox_message_status_due_id")
        batch_op.create_index(
            "ix_outbox_message_recipient_member_id", ["recipient_member_id"], unique=False
        )
        batch_op.drop_index("ix_outbox_message_recipient_sent")
