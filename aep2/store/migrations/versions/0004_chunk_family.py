"""settlement chunks name their circuit family: batch (EIP-712 mandates) or agent (agent-key mandates)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("settlement_chunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("family", sa.String(length=8), server_default="batch", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("settlement_chunks", schema=None) as batch_op:
        batch_op.drop_column("family")
