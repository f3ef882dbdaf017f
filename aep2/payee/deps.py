"""FastAPI dependencies shared by the payee's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aep2.payee.check import PayeeCheck
from aep2.payee.web import get_check

CheckDep = Annotated[PayeeCheck, Depends(get_check)]
