"""Settlement: closing windows, planning chunks, proving and submitting them."""
