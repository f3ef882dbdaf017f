"""The mandate state machine, re-exported: its single definition is :mod:`aep2.store.states`."""

from aep2.store.states import TERMINAL, TRANSITIONS, InvalidTransition, MandateState, check_transition

__all__ = ["TERMINAL", "TRANSITIONS", "InvalidTransition", "MandateState", "check_transition"]
