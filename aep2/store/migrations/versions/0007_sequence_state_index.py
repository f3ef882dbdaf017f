"""mandates: index (payer, key_id, payee, state, nonce) so the in-flight nonce lookup is flat in history

Written by hand against aep2/store/models.py (MandateRow.__table_args__).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mandates_sequence_state_nonce", ["payer", "key_id", "payee", "state", "nonce"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.drop_index("ix_mandates_sequence_state_nonce")
