"""settlement pipeline: windows, chunks, chunk mandates

Written by hand against aep2/settlement/models.py (this directory must not import the
settlement package, so autogenerate does not see those models).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 20:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "settlement_windows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("escrow", sa.String(length=42), nullable=False),
        sa.Column("payee", sa.String(length=42), nullable=True),
        sa.Column("tokens", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitter", sa.String(length=42), nullable=True),
        sa.Column("tx_nonce", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("raw_tx", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("gas_limit", sa.BigInteger(), nullable=True),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("settlement_windows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settlement_windows_state"), ["state"], unique=False)
    op.create_table(
        "settlement_chunks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("verifier_id", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("p", sa.Integer(), nullable=False),
        sa.Column("settlement", sa.JSON(), nullable=False),
        sa.Column("public_input", sa.String(length=80), nullable=True),
        sa.Column("proof", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("proving_seconds", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["window_id"], ["settlement_windows.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("window_id", "index", name="uq_chunks_window_index"),
    )
    with op.batch_alter_table("settlement_chunks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settlement_chunks_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_settlement_chunks_window_id"), ["window_id"], unique=False)
    op.create_table(
        "settlement_chunk_mandates",
        sa.Column("chunk_id", sa.Integer(), nullable=False),
        sa.Column("mandate_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["chunk_id"], ["settlement_chunks.id"]),
        sa.ForeignKeyConstraint(["mandate_id"], ["mandates.id"]),
        sa.PrimaryKeyConstraint("chunk_id", "mandate_id"),
    )
    with op.batch_alter_table("settlement_chunk_mandates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_settlement_chunk_mandates_mandate_id"), ["mandate_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("settlement_chunk_mandates")
    op.drop_table("settlement_chunks")
    op.drop_table("settlement_windows")
