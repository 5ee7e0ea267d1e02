"""outbox reliability: leases, unknown outcomes, failure notices, indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 12:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt_channel_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("attempt_started_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("actor_member_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_message_actor_member_id_member"),
            "member",
            ["actor_member_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_message_claimed_by"), ["claimed_by"], unique=False
        )
        batch_op.create_index("ix_outbox_message_subject", ["subject_type", "subject_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_subject")
        batch_op.drop_index(batch_op.f("ix_outbox_message_claimed_by"))
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_message_actor_member_id_member"), type_="foreignkey"
        )
        batch_op.drop_column("actor_member_id")
        batch_op.drop_column("attempt_started_at")
        batch_op.drop_column("attempt_channel_id")
