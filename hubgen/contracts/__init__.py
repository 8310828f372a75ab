"""Analysis: contract modules → the IR (:mod:`hubgen.ir`), with precise errors.

::

    from pathlib import Path
    from hubgen.contracts import ContractErrors, analyze

    try:
        contract = analyze(["chat.contract"], root=Path("."), python_path=[Path(".")])
    except ContractErrors as exc:
        for error in exc.errors:
            print(error)   # chat/contract.py:12:5: HG030 unsupported type 'object' (...)

Types come from runtime introspection (``typing.get_type_hints``, pydantic's
``model_fields``); positions and docstrings from the source, read with libcst.
Error codes are documented in ``docs/errors.md``.
"""

from __future__ import annotations

from hubgen.contracts.analyzer import analyze
from hubgen.contracts.errors import ContractError, ContractErrors, ErrorCode

__all__ = ["ContractError", "ContractErrors", "ErrorCode", "analyze"]
