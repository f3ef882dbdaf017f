"""What travels with a call: the aep2 x402 scheme, call refs and payee receipts."""
