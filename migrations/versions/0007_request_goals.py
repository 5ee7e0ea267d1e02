"""request goals

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 13:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # What the person wants from one sought topic; NULL means their profile's general goal.
    with op.batch_alter_table("member_topic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("goal", sa.Text(), nullable=True))
    # The goal a request was made with, kept as it was asked even if the profile changes later.
    with op.batch_alter_table("mentor_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("goal", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("mentor_request", schema=None) as batch_op:
        batch_op.drop_column("goal")
    with op.batch_alter_table("member_topic", schema=None) as batch_op:
        batch_op.drop_column("goal")
