"""The codec table (docs/codecs.md), row by row, for both wire formats: the
wire value a contract value becomes, what the MessagePack protocol then packs
(and reads back), the naive-datetime rule and the field naming policies."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

import pytest
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NaiveDatetime,
)

from hubgen.codec import Codec, CodecError, WireFormat
from hubgen.naming import FieldNaming
from hubgen.protocol.messagepack import MessagePackHubProtocol
from hubgen.protocol.messages import StreamItemMessage

JSON = WireFormat.JSON
MSGPACK = WireFormat.MSGPACK
PROTOCOL = MessagePackHubProtocol()


class Level(IntEnum):
    LOW = 1
    HIGH = 2


class Shade(StrEnum):
    DARK = "dark"


class Child(BaseModel):
    label: str
    weight: int = 1


class Parent(BaseModel):
    display_name: str = Field(alias="shownAs")
    child: Child
    children: list[Child]
    by_key: dict[str, Child]
    maybe: int | None = None


UUID_VALUE = UUID("12345678-1234-5678-1234-567812345678")
WHEN = datetime(2024, 5, 1, 12, 30, 15, 250000, tzinfo=UTC)

#: (annotation, Python value, JSON wire value, MessagePack wire value after a
#: pack/unpack round trip through the MessagePack hub protocol)
ROWS: list[tuple[Any, Any, Any, Any]] = [
    (str, "héllo", "héllo", "héllo"),
    (int, 2**53 + 1, 2**53 + 1, 2**53 + 1),
    (int, -(2**63), -(2**63), -(2**63)),
    (float, 0.5, 0.5, 0.5),
    (bool, True, True, True),
    (None, None, None, None),
    (bytes, b"\x00\x01\xfe\xff", "AAH+/w==", b"\x00\x01\xfe\xff"),
    (datetime, WHEN, "2024-05-01T12:30:15.250000Z", WHEN),
    (
        datetime,
        datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2))),
        "2024-05-01T14:30:00+02:00",
        datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
    ),
    (
        datetime,
        datetime(2024, 5, 1, 12, 30),
        "2024-05-01T12:30:00Z",
        WHEN.replace(second=0, microsecond=0),
    ),
    (date, date(2024, 2, 29), "2024-02-29", "2024-02-29"),
    (time, time(23, 59, 58, 5), "23:59:58.000005", "23:59:58.000005"),
    (timedelta, timedelta(days=1, hours=2, seconds=3), "P1DT2H3S", "P1DT2H3S"),
    (Decimal, Decimal("1234567890.0123456789"), "1234567890.0123456789", "1234567890.0123456789"),
    (UUID, UUID_VALUE, str(UUID_VALUE), str(UUID_VALUE)),
    (Level, Level.HIGH, 2, 2),
    (Shade, Shade.DARK, "dark", "dark"),
    (Literal["a", 1], 1, 1, 1),
    (list[int], [1, 2], [1, 2], [1, 2]),
    (set[str], {"x"}, ["x"], ["x"]),
    (tuple[int, str], (1, "a"), [1, "a"], [1, "a"]),
    (dict[str, int], {"k": 1}, {"k": 1}, {"k": 1}),
    (int | None, None, None, None),
    (
        Parent,
        Parent(
            shownAs="p",
            child=Child(label="c"),
            children=[Child(label="d", weight=2)],
            by_key={"e": Child(label="e")},
        ),
        {
            "shownAs": "p",
            "child": {"label": "c", "weight": 1},
            "children": [{"label": "d", "weight": 2}],
            "byKey": {"e": {"label": "e", "weight": 1}},
            "maybe": None,
        },
        {
            "shownAs": "p",
            "child": {"label": "c", "weight": 1},
            "children": [{"label": "d", "weight": 2}],
            "byKey": {"e": {"label": "e", "weight": 1}},
            "maybe": None,
        },
    ),
]


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def through_messagepack(wire_value: Any) -> Any:
    """``wire_value`` packed by the MessagePack hub protocol and read back."""
    buffer = bytearray(PROTOCOL.write(StreamItemMessage("1", wire_value)))
    (message,) = PROTOCOL.parse(buffer)
    assert isinstance(message, StreamItemMessage)
    return message.item


@pytest.mark.parametrize(("annotation", "value", "json_wire", "msgpack_wire"), ROWS)
def test_each_row_of_the_table(
    annotation: Any, value: Any, json_wire: Any, msgpack_wire: Any
) -> None:
    json_codec: Codec[Any] = Codec(annotation, JSON)
    msgpack_codec: Codec[Any] = Codec(annotation, MSGPACK)
    assert json_codec.encode(value) == json_wire
    packed = through_messagepack(msgpack_codec.encode(value))
    assert packed == msgpack_wire
    assert type(packed) is type(msgpack_wire)
    # and back: what a peer sends in that form binds to the same value (a
    # naive datetime comes back as the aware UTC one it was sent as)
    expected = as_utc(value) if isinstance(value, datetime) else value
    assert json_codec.decode(json_wire) == expected
    assert msgpack_codec.decode(packed) == expected


def test_integers_beyond_64_bits_travel_in_json_only() -> None:
    assert Codec(int, JSON).encode(2**64) == 2**64
    with pytest.raises(ValueError, match="out of MessagePack's range"):
        through_messagepack(Codec(int, MSGPACK).encode(2**64))


@pytest.mark.parametrize("wire", [JSON, MSGPACK])
def test_naive_datetimes_are_sent_as_utc(wire: WireFormat) -> None:
    naive = datetime(2024, 5, 1, 12, 30)
    aware = naive.replace(tzinfo=UTC)
    codec = Codec(datetime, wire)
    assert codec.encode(naive) == codec.encode(aware)
    model = Codec(Parent | datetime, wire)
    assert model.encode(naive) == codec.encode(aware)


@pytest.mark.parametrize("wire", [JSON, MSGPACK])
def test_datetimes_without_an_offset_are_received_as_utc(wire: WireFormat) -> None:
    received = Codec(datetime, wire).decode("2024-05-01T12:30:00")
    assert received == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert received.tzinfo is UTC
    nested = Codec(list[datetime | None], wire).decode(["2024-05-01T12:30:00", None])
    assert nested == [datetime(2024, 5, 1, 12, 30, tzinfo=UTC), None]


@pytest.mark.parametrize("wire", [JSON, MSGPACK])
def test_received_offsets_are_kept(wire: WireFormat) -> None:
    received = Codec(datetime, wire).decode("2024-05-01T14:30:00+02:00")
    assert received.utcoffset() == timedelta(hours=2)


class Stamped(BaseModel):
    naive: NaiveDatetime
    aware: AwareDatetime
    naive_or_none: NaiveDatetime | None = None


def _over(wire: WireFormat, value: Any) -> Any:
    return through_messagepack(value) if wire is MSGPACK else value


@pytest.mark.parametrize("wire", [JSON, MSGPACK])
def test_pydantic_naive_and_aware_datetimes_follow_the_utc_rule(wire: WireFormat) -> None:
    """NaiveDatetime and AwareDatetime travel as any datetime does (naive
    means UTC) and are received in the form they declare: a NaiveDatetime as
    UTC wall time, an AwareDatetime as UTC when no offset came with it."""
    codec = Codec(Stamped, wire)
    value = Stamped(
        naive=datetime(2024, 5, 1, 12, 30),
        aware=datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2))),
        naive_or_none=datetime(1969, 12, 31, 23, 59, 59, 500000),
    )
    sent = _over(wire, codec.encode(value))
    if wire is JSON:
        assert sent["naive"] == "2024-05-01T12:30:00Z"
        assert sent["aware"] == "2024-05-01T14:30:00+02:00"
    else:
        assert sent["naive"] == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    received = codec.decode(sent)
    assert received == value
    assert received.naive.tzinfo is None
    # what other peers send: an instant with an offset, a time without one
    other = codec.decode(
        _over(
            wire,
            {
                "naive": datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
                if wire is MSGPACK
                else "2024-05-01T14:30:00+02:00",
                "aware": "2024-05-01T12:30:00",
                "naiveOrNone": None,
            },
        )
    )
    assert other.naive == datetime(2024, 5, 1, 12, 30)
    assert other.aware == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert other.naive_or_none is None


def test_every_datetime_a_messagepack_peer_sends_is_aware() -> None:
    naive_sent = through_messagepack(Codec(datetime, MSGPACK).encode(datetime(2000, 1, 1)))
    assert Codec(datetime, MSGPACK).decode(naive_sent) == datetime(2000, 1, 1, tzinfo=UTC)


def test_the_python_client_and_server_refuse_values_of_the_wrong_type() -> None:
    with pytest.raises(CodecError, match="cannot encode str"):
        Codec(datetime, JSON).encode("2024-05-01")  # type: ignore[arg-type]
    with pytest.raises(CodecError, match="valid standard base64"):
        Codec(bytes, JSON).decode("not base64!")


class Tagged(BaseModel):
    model_config = ConfigDict(alias_generator=str.upper, populate_by_name=True)

    kind: Literal["tagged"] = "tagged"
    sent_at: datetime


#: (policy, the wire names of Parent's fields); Tagged's are its aliases under any
NAMINGS: list[tuple[FieldNaming, list[str]]] = [
    (FieldNaming.CAMEL, ["shownAs", "child", "children", "byKey", "maybe"]),
    (FieldNaming.PASCAL, ["shownAs", "Child", "Children", "ByKey", "Maybe"]),
    (FieldNaming.PRESERVE, ["shownAs", "child", "children", "by_key", "maybe"]),
]


@pytest.mark.parametrize(("naming", "parent"), NAMINGS)
@pytest.mark.parametrize("wire", [JSON, MSGPACK])
def test_fields_travel_under_the_naming_policy_unless_aliased(
    naming: FieldNaming, parent: list[str], wire: WireFormat
) -> None:
    """Nested models follow the policy too; an alias, from ``Field`` or the
    model's ``alias_generator``, wins over any policy."""
    value = Parent(
        shownAs="p", child=Child(label="c"), children=[Child(label="d")], by_key={}, maybe=3
    )
    codec: Codec[Parent] = Codec(Parent, wire, field_naming=naming)
    sent = through_messagepack(codec.encode(value)) if wire is MSGPACK else codec.encode(value)
    assert list(sent) == parent
    child = ["Label", "Weight"] if naming is FieldNaming.PASCAL else ["label", "weight"]
    assert list(sent[parent[1]]) == child
    assert list(sent[parent[2]][0]) == child
    assert codec.decode(sent) == value
    stamped = Tagged(sent_at=WHEN)
    tagged_codec: Codec[Tagged] = Codec(Tagged, wire, field_naming=naming)
    assert list(tagged_codec.encode(stamped)) == ["KIND", "SENT_AT"]
    assert tagged_codec.decode(tagged_codec.encode(stamped)) == stamped


def test_a_field_is_accepted_under_its_wire_name_only() -> None:
    """A pascal codec does not bind the camelCase name (nor the reverse): a
    peer on another policy gets a binding error, not a silently missing field."""
    pascal: Codec[Child] = Codec(Child, JSON, field_naming=FieldNaming.PASCAL)
    camel: Codec[Child] = Codec(Child, JSON)
    assert pascal.decode({"Label": "x", "Weight": 2}) == Child(label="x", weight=2)
    with pytest.raises(CodecError, match="Label: Field required"):
        pascal.decode({"label": "x"})
    with pytest.raises(CodecError, match="label: Field required"):
        camel.decode({"Label": "x"})
    # an extra key under another policy's name is ignored, as unknown keys are
    assert pascal.decode({"Label": "x", "weight": 5}) == Child(label="x", weight=1)


class Cat(BaseModel):
    pet_type: Literal["cat"] = "cat"
    lives: int = 9


class Dog(BaseModel):
    pet_type: Literal["dog"] = "dog"
    good: bool = True


class Bird(BaseModel):
    species: Literal["bird"] = Field("bird", alias="type")


class Fish(BaseModel):
    species: Literal["fish"] = Field("fish", alias="type")


class Owner(BaseModel):
    pet: Annotated[Cat | Dog, Field(discriminator="pet_type")]
    pets: list[Annotated[Cat | Dog, Field(discriminator="pet_type")]] = []
    #: an aliased tag: its alias, whatever the policy
    zoo: list[Annotated[Bird | Fish, Field(discriminator="species")]] = []


@pytest.mark.parametrize("naming", list(FieldNaming))
@pytest.mark.parametrize("wire", [JSON, MSGPACK])
def test_a_discriminated_union_reads_its_tag_under_its_wire_name(
    naming: FieldNaming, wire: WireFormat
) -> None:
    """The tag field travels under the policy's name (``petType``,
    ``PetType``, ``pet_type``), and that is where decoding looks for it."""
    value = Owner(pet=Dog(), pets=[Cat(), Dog(good=False)], zoo=[Bird(), Fish()])
    codec: Codec[Owner] = Codec(Owner, wire, field_naming=naming)
    sent = codec.encode(value)
    tag = naming.apply("pet_type")
    assert sent[naming.apply("pet")][tag] == "dog"
    assert [pet[tag] for pet in sent[naming.apply("pets")]] == ["cat", "dog"]
    assert [animal["type"] for animal in sent[naming.apply("zoo")]] == ["bird", "fish"]
    assert codec.decode(sent) == value
    with pytest.raises(CodecError, match="does not match any of the expected tags"):
        codec.decode({**sent, naming.apply("pet"): {tag: "fish"}})
