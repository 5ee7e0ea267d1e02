"""find candidates: a log of mentors whose findable details changed, for each find index

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "find_change",
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_find_change_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_find_change_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_find_change")),
    )
    op.create_index(
        "ix_find_change_workspace_stamp", "find_change", ["workspace_id", "stamp"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_find_change_workspace_stamp", table_name="find_change")
    op.drop_table("find_change")
