"""The compatibility relation between two types, per protocol.

Each row: a parameter's type in the old and the new contract, and whether
each fits the other over JSON and MessagePack. A hub-method parameter
travels to the server, so old clients send the old type to the new server
(``old → new``) and new clients the new type to the old server (``new → old``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hubgen.compat import Protocol, Scenario
from tests.diff.support import changes

Y = True  # fits
N = False  # does not fit

MODELS = """
T = TypeVar("T")


class Color(Enum):
    RED = "red"
    GREEN = "green"


class Level(Enum):
    LOW = 1
    HIGH = 2


class Point(BaseModel):
    x: int
    y: int


class Spot(BaseModel):
    x: int
    y: int


class Point3(BaseModel):
    x: int
    y: int
    z: int


class Point3Default(BaseModel):
    x: int
    y: int
    z: int = 0


class StrictPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    x: int
    y: int


class Tree(BaseModel):
    value: int
    children: list[Tree] = []


class Node(BaseModel):
    value: int
    children: list[Node] = []


class Box(BaseModel, Generic[T]):
    item: T


class Crate(BaseModel, Generic[T]):
    item: T
"""

#: (old type, new type, old → new fits (json, msgpack), new → old fits (json, msgpack))
ROWS: list[tuple[str, str, tuple[bool, bool], tuple[bool, bool]]] = [
    # numbers: an int is a number; not every number is an int
    ("int", "float", (Y, Y), (N, N)),
    ("bool", "int", (N, N), (N, N)),
    ("int", "str", (N, N), (N, N)),
    # strings with a format read as plain strings in both protocols...
    ("UUID", "str", (Y, Y), (N, N)),
    ("date", "str", (Y, Y), (N, N)),
    ("Decimal", "str", (Y, Y), (N, N)),
    # ...but datetimes and bytes are native in MessagePack
    ("datetime", "str", (Y, N), (N, N)),
    ("bytes", "str", (Y, N), (N, N)),
    ("datetime", "date", (N, N), (N, N)),
    # None
    ("int", "int | None", (Y, Y), (N, N)),
    ("str", "str | int", (Y, Y), (N, N)),
    ("int | str", "str | int | None", (Y, Y), (N, N)),
    # literals and enums: values travel
    ('Literal["a"]', "str", (Y, Y), (N, N)),
    ('Literal["a", "b"]', 'Literal["a", "b", "c"]', (Y, Y), (N, N)),
    ("Literal[1, 2]", "int", (Y, Y), (N, N)),
    ("Literal[1]", "Literal[True]", (N, N), (N, N)),
    ("bool", "Literal[True, False]", (Y, Y), (Y, Y)),
    ("Color", "str", (Y, Y), (N, N)),
    ("Color", 'Literal["red", "green"]', (Y, Y), (Y, Y)),
    ("Color", 'Literal["red"]', (N, N), (Y, Y)),
    ("Level", "int", (Y, Y), (N, N)),
    ("Level", "float", (Y, Y), (N, N)),
    ("Level", "Literal[1, 2, 3]", (Y, Y), (N, N)),
    # containers: every array is an array, a tuple has a length
    ("list[int]", "list[float]", (Y, Y), (N, N)),
    ("set[int]", "list[int]", (Y, Y), (Y, Y)),
    ("tuple[int, int]", "list[int]", (Y, Y), (N, N)),
    ("tuple[int, int]", "tuple[int, int, int]", (N, N), (N, N)),
    ("tuple[int, str]", "tuple[float, str]", (Y, Y), (N, N)),
    ("dict[str, int]", "dict[str, float]", (Y, Y), (N, N)),
    ("dict[Color, int]", "dict[str, int]", (Y, Y), (N, N)),
    ("list[datetime]", "list[str]", (Y, N), (N, N)),
    ("list[int]", "dict[str, int]", (N, N), (N, N)),
    # models: compared field by field under their wire names, whatever their class
    ("Point", "Spot", (Y, Y), (Y, Y)),
    ("Point", "Point3", (N, N), (Y, Y)),
    ("Point", "Point3Default", (Y, Y), (Y, Y)),
    ("Point3Default", "Point", (Y, Y), (Y, Y)),
    ("Point3Default", "StrictPoint", (N, N), (Y, Y)),
    ("Tree", "Node", (Y, Y), (Y, Y)),
    ("Box[int]", "Box[float]", (Y, Y), (N, N)),
    ("Box[int]", "Crate[float]", (Y, Y), (N, N)),
    ("Box[Point]", "Crate[Point3]", (N, N), (Y, Y)),
    ("Point", "dict[str, int]", (N, N), (N, N)),
]


@pytest.mark.parametrize(
    ("old", "new", "forward", "backward"), ROWS, ids=[f"{o} -> {n}" for o, n, *_ in ROWS]
)
def test_fit(
    old: str,
    new: str,
    forward: tuple[bool, bool],
    backward: tuple[bool, bool],
    tmp_path: Path,
) -> None:
    def contract(annotation: str) -> str:
        return (
            MODELS
            + "\n\nclass Client(Protocol):\n    async def ping(self) -> None: ...\n\n\n"
            + "@hubgen.hub(client=Client)\nclass Hub(Protocol):\n"
            + f"    async def take(self, value: {annotation}) -> None: ...\n"
        )

    found = [
        c
        for c in changes(contract(old), contract(new), tmp_path)
        if c.rule.startswith("parameter-type")
    ]
    assert len(found) == 1
    verdicts = found[0].verdicts
    got_forward = tuple(not verdicts[Scenario.OLD_CLIENTS][p].breaking for p in Protocol)
    got_backward = tuple(not verdicts[Scenario.OLD_SERVER][p].breaking for p in Protocol)
    whys = {f"{s.value}/{p.value}": v.why for s, by in verdicts.items() for p, v in by.items()}
    assert (got_forward, got_backward) == (forward, backward), whys
