"""The wire protocol that payer and payee share: the aep2 x402 scheme, call refs, receipts, metadata keys.

It sits below ``aep2.payer`` and ``aep2.payee`` and imports neither, nor the
transport integrations in ``aep2.transports`` (which sit above both), so every
import runs one way (``tests/test_layering.py`` enforces it).
"""
