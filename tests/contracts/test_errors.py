"""Every contract error: its code, exact position, message and path.

Each fixture module under ``fixtures/errors/`` holds one kind of mistake (often
several instances of it, which must all be reported). Expected lines are
``str(ContractError)`` with the fixture directory left out.
"""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path

import pytest

from hubgen.contracts import ContractError, ContractErrors, ErrorCode, analyze
from hubgen.ir import NamingDecl, SourceLocation

REPO = Path(__file__).resolve().parents[2]
FIXTURES = "tests/contracts/fixtures/errors"
PACKAGE = "tests.contracts.fixtures.errors"


def _expected() -> dict[str, list[str]]:
    """``fixtures/errors/expected.txt``: ``[module]`` headers, then its errors."""
    expected: dict[str, list[str]] = {}
    lines: list[str] = []
    text = (REPO / FIXTURES / "expected.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            lines = expected.setdefault(line[1:-1], [])
        elif line and not line.startswith("#"):
            lines.append(line)
    return expected


EXPECTED = _expected()


def _errors(*modules: str, root: Path = REPO, python_path: tuple[Path, ...] = ()) -> list[str]:
    with pytest.raises(ContractErrors) as caught:
        analyze(list(modules), root=root, python_path=python_path or (REPO,))
    return [str(error) for error in caught.value.errors]


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_error_fixture(module: str) -> None:
    expected = [f"{FIXTURES}/{line}" if ".py:" in line else line for line in EXPECTED[module]]
    assert _errors(f"{PACKAGE}.{module}") == expected


def test_module_not_found() -> None:
    assert _errors(f"{PACKAGE}.does_not_exist") == [
        f"HG001 cannot find contract module '{PACKAGE}.does_not_exist' (python-path: {REPO})"
    ]


def _project(tmp_path: Path, files: dict[str, str]) -> str:
    """A throwaway package in ``tmp_path`` with a name no other test uses."""
    package = f"hubgen_test_{uuid.uuid4().hex[:12]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    for name, text in files.items():
        (tmp_path / package / name).write_text(text, encoding="utf-8")
    return package


def test_syntax_error_points_at_the_error(tmp_path: Path) -> None:
    package = _project(
        tmp_path,
        {"contract.py": "from typing import Protocol\n\nVALUES = [1, 2\n"},
    )
    assert _errors(f"{package}.contract", root=tmp_path, python_path=(tmp_path,)) == [
        f"{package}/contract.py:3:10: HG002 cannot import '{package}.contract': "
        "SyntaxError: '[' was never closed"
    ]


POLICY_DEPENDENT = """\
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import AliasChoices, BaseModel, Field

import hubgen


class Reading(BaseModel):
    sent_at: datetime
    logged_at: datetime = Field(alias="SentAt")
    device_id: str = Field(validation_alias=AliasChoices("device_id", "deviceId"))


class Client(Protocol):
    async def ping(self) -> None: ...


@hubgen.hub(client=Client)
class ReadingHub(Protocol):
    async def record(self, reading: Reading) -> None: ...
"""


def test_wire_names_are_checked_under_the_field_naming_policy(tmp_path: Path) -> None:
    """A contract fine in camelCase may not be in PascalCase: an alias that was
    another name now collides (HG055), and validation aliases no longer hold
    the name the field is sent under (HG056)."""
    package = _project(tmp_path, {"contract.py": POLICY_DEPENDENT})
    modules = [f"{package}.contract"]
    camel = analyze(modules, root=tmp_path, python_path=(tmp_path,))
    assert [f.wire_name for f in camel.model("Reading").fields] == ["sentAt", "SentAt", "deviceId"]
    with pytest.raises(ContractErrors) as caught:
        analyze(modules, root=tmp_path, python_path=(tmp_path,), naming=NamingDecl(fields="pascal"))
    path = "(ReadingHub.record → parameter 'reading' → Reading"
    assert [str(e) for e in caught.value.errors] == [
        f"{package}/contract.py:13:5: HG055 fields 'sent_at' and 'logged_at' of model 'Reading' "
        f"would both be sent as 'SentAt'; give one of them another alias {path}.logged_at)",
        f"{package}/contract.py:14:5: HG056 field 'device_id' of model 'Reading' is sent as "
        "'DeviceId' but accepted as 'device_id', 'deviceId': use Field(alias=...) so both "
        f"directions agree {path}.device_id)",
    ]


def test_errors_of_several_modules_are_all_reported_in_location_order() -> None:
    modules = ["hg061_default_mismatch", "hg021_variadic", "hg026_sync_not_stream"]
    found = _errors(*(f"{PACKAGE}.{m}" for m in modules))
    # Every fixture names its client Protocol 'Client': across modules they clash.
    clashes = [
        f"{module}.py:8:7: HG045 client {PACKAGE}.{module}.Client and client "
        f"{PACKAGE}.hg021_variadic.Client ({FIXTURES}/hg021_variadic.py:8:7) would both be "
        "generated as 'Client'; rename one of them"
        for module in ("hg026_sync_not_stream", "hg061_default_mismatch")
    ]
    lines = [*clashes, *(line for m in modules for line in EXPECTED[m])]

    def position(line: str) -> tuple[str, int, int]:
        file, row, column = line.split(":")[:3]
        return file, int(row), int(column)

    assert found == [f"{FIXTURES}/{line}" for line in sorted(lines, key=position)]


def test_a_module_failing_to_import_does_not_hide_the_others() -> None:
    found = _errors(f"{PACKAGE}.hg003_import_raises", f"{PACKAGE}.hg026_sync_not_stream")
    assert [line.split(" ")[1] for line in found] == ["HG003", "HG026"]


def test_sys_path_is_restored_after_a_failed_import() -> None:
    before = list(sys.path)
    _errors(f"{PACKAGE}.hg003_import_raises", python_path=(REPO / "nowhere",))
    assert sys.path == before


def test_contract_error_str() -> None:
    location = SourceLocation(file="app/contract.py", line=12, column=5)
    error = ContractError(
        ErrorCode.UNSUPPORTED_TYPE,
        "unsupported type 'object'",
        location,
        ("ChatHub.send", "parameter 'x'"),
    )
    assert str(error) == (
        "app/contract.py:12:5: HG030 unsupported type 'object' (ChatHub.send → parameter 'x')"
    )
    assert str(ContractError(ErrorCode.NO_HUBS, "no hub")) == "HG004 no hub"


def test_contract_errors_sorts_and_deduplicates() -> None:
    late = ContractError(
        ErrorCode.UNSUPPORTED_TYPE, "b", SourceLocation(file="a.py", line=9, column=1)
    )
    early = ContractError(
        ErrorCode.MISSING_ANNOTATION, "a", SourceLocation(file="a.py", line=2, column=7)
    )
    unplaced = ContractError(ErrorCode.MODULE_NOT_FOUND, "c")
    errors = ContractErrors([late, early, late, unplaced])
    assert errors.errors == (unplaced, early, late)
    assert str(errors) == "\n".join(str(e) for e in (unplaced, early, late))


def test_every_code_is_tested() -> None:
    tested = {ErrorCode.MODULE_NOT_FOUND, ErrorCode.SYNTAX_ERROR}
    for lines in EXPECTED.values():
        tested |= {ErrorCode(m) for line in lines for m in re.findall(r"\bHG\d{3}\b", line)}
    assert tested == set(ErrorCode)


def test_every_code_is_documented() -> None:
    text = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### (HG\d{3})$", text, flags=re.MULTILINE))
    assert documented == {code.value for code in ErrorCode}


def test_every_fixture_module_has_expectations() -> None:
    modules = {
        path.stem
        for path in (REPO / FIXTURES).glob("hg*.py")
        if path.stem != "hg045_name_collision_other"  # imported by hg045_name_collision
    }
    assert modules == set(EXPECTED)
