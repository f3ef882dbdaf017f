"""agent mandates: kind and key id per mandate, nonce sequences per key, key exposures

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 21:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_KEY = "0" * 20


def upgrade() -> None:
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=8), server_default="eip712", nullable=False))
        batch_op.add_column(sa.Column("key_id", sa.String(length=20), server_default=NO_KEY, nullable=False))
        batch_op.drop_constraint("uq_mandates_payer_payee_nonce", type_="unique")
        batch_op.create_unique_constraint("uq_mandates_sequence_nonce", ["payer", "key_id", "payee", "nonce"])
    op.create_table(
        "key_exposures",
        sa.Column("key_id", sa.String(length=20), nullable=False),
        sa.Column("unsettled", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("key_id"),
    )


def downgrade() -> None:
    op.drop_table("key_exposures")
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.drop_constraint("uq_mandates_sequence_nonce", type_="unique")
        batch_op.create_unique_constraint("uq_mandates_payer_payee_nonce", ["payer", "payee", "nonce"])
        batch_op.drop_column("key_id")
        batch_op.drop_column("kind")
