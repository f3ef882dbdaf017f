"""Celery workers: thin tasks over ``aep2.settlement`` (prove a chunk, submit a window, reconcile)."""
