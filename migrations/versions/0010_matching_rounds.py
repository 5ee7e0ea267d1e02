"""matching rounds

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ROUND_STATUS = ("draft", "approved", "discarded")
UNMATCHED = ("no_mentor", "full", "not_available")


def upgrade() -> None:
    op.create_table(
        "matching_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*ROUND_STATUS, name="round_status", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("waiting", sa.Integer(), nullable=False),
        sa.Column("free_slots", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'approved', 'discarded')",
            name=op.f("ck_matching_round_round_status"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_matching_round_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["member.id"],
            name=op.f("fk_matching_round_created_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["member.id"],
            name=op.f("fk_matching_round_decided_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matching_round")),
    )
    op.create_index(
        "ix_matching_round_workspace_status", "matching_round", ["workspace_id", "status"]
    )
    op.create_table(
        "round_proposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=True),
        sa.Column("score_micros", sa.Integer(), nullable=True),
        sa.Column("topics", sa.String(length=200), nullable=False),
        sa.Column(
            "unmatched",
            sa.Enum(*UNMATCHED, name="round_unmatched", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "unmatched IN ('no_mentor', 'full', 'not_available')",
            name=op.f("ck_round_proposal_round_unmatched"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["matching_round.id"],
            name=op.f("fk_round_proposal_round_id_matching_round"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mentee_id"],
            ["member.id"],
            name=op.f("fk_round_proposal_mentee_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["member.id"],
            name=op.f("fk_round_proposal_mentor_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["mentor_request.id"],
            name=op.f("fk_round_proposal_request_id_mentor_request"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_proposal")),
        sa.UniqueConstraint("round_id", "mentee_id", name="uq_round_proposal_round_mentee"),
    )


def downgrade() -> None:
    op.drop_table("round_proposal")
    op.drop_index("ix_matching_round_workspace_status", table_name="matching_round")
    op.drop_table("matching_round")
