"""admin nudges and refresh

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Each /mentor find search, so the admin's funnel can start where mentees start.
    op.create_table(
        "find_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_find_record_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_find_record_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_find_record")),
    )
    op.create_index(
        "ix_find_record_workspace_created", "find_record", ["workspace_id", "created_at"]
    )
    op.create_index(op.f("ix_find_record_member_id"), "find_record", ["member_id"])
    # The last "time to meet again?" nudge, so a pair hears it at most once a fortnight.
    with op.batch_alter_table("pairing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_member_synced_at", "member", ["synced_at"])


def downgrade() -> None:
    op.drop_index("ix_member_synced_at", table_name="member")
    with op.batch_alter_table("pairing", schema=None) as batch_op:
        batch_op.drop_column("nudged_at")
    op.drop_index(op.f("ix_find_record_member_id"), table_name="find_record")
    op.drop_index("ix_find_record_workspace_created", table_name="find_record")
    op.drop_table("find_record")
