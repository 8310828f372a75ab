"""What the generated TypeScript accepts and rejects, checked by tsc itself:
each ``@ts-expect-error`` line must be an error, everything else must compile.
Each test compiles one usage file with golden cases' generated sources."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hubgen.cli import main

from .goldens import CASES
from .support import tsc_problems

USAGE = """
import type { HubConnection } from "@microsoft/signalr";
import {
  createChatHub,
  registerChatClient,
  type ChatMessage,
  type ChatMessageInput,
  type HubStream,
} from "./chat/index.js";
import type { CatInput, Dog, OwnerInput } from "./pets/index.js";
import type { Page, PageInput, ItemInput, TreeInput } from "./shapes/index.js";
import { Color, type Swatch } from "./palette/index.js";

export async function use(connection: HubConnection): Promise<number> {
  const hub = createChatHub(connection);
  await hub.send("hi");
  const history: ChatMessage[] = await hub.history();
  await hub.history(10);
  // @ts-expect-error a number is required
  await hub.history("10");
  // @ts-expect-error unknown method
  await hub.sendMessage("x");
  const stream: HubStream<number> = hub.ticker("MSFT");
  let total = 0;
  for await (const price of stream) {
    total += price;
  }
  stream.subscribe({ next: (v: number) => void v, error: () => {}, complete: () => {} });
  async function* lines(): AsyncGenerator<string> {
    yield "a";
  }
  const count: number = await hub.upload(lines());
  const registration = registerChatClient(connection, {
    messageReceived: (message: ChatMessage) => void message.sentAt.length,
    confirm: async (question: string) => question.length > 0,
  });
  registration.dispose();
  // @ts-expect-error a client result must be a boolean
  registerChatClient(connection, { confirm: (question: string) => question });
  // @ts-expect-error parameters are checked strictly
  registerChatClient(connection, { messageReceived: (message: number) => void message });
  const input: ChatMessageInput = { author: "a", text: "b", sentAt: "2024-01-01T00:00:00Z" };
  // @ts-expect-error the server always sends defaulted fields
  const output: ChatMessage = { author: "a", text: "b", sentAt: "2024-01-01T00:00:00Z" };
  const cat: CatInput = { kind: "cat" };
  // @ts-expect-error the discriminator stays required in input
  const tagless: CatInput = { lives: 3 };
  const dog: Dog = { kind: "dog", good: true };
  const owner: OwnerInput = { name: "o", pets: [cat, dog] };
  const page: PageInput<ItemInput> = { items: [{ name: "x" }], total: 1 };
  const numbers: Page<number> = { items: [1], total: 1, cursor: null };
  const tree: TreeInput = { label: "root", children: [{ label: "leaf" }] };
  const swatch: Partial<Swatch> = { color: Color.RED };
  // @ts-expect-error not a Color
  const wrong: Partial<Swatch> = { color: "purple" };
  return total + count + history.length + [input, output, tagless, owner, page, numbers, tree]
    .length + (swatch.color === "red" ? 1 : 0) + (wrong.color === undefined ? 0 : 1);
}
"""


def test_generated_types_accept_and_reject_what_they_should(tmp_path: Path) -> None:
    for case in ("chat", "pets", "shapes", "palette"):
        shutil.copytree(CASES / case / "expected" / "web" / "generated", tmp_path / case)
    (tmp_path / "usage.ts").write_text(USAGE, encoding="utf-8")
    problems = tsc_problems(tmp_path)
    assert problems is None, problems


def compile_with_cases(tmp_path: Path, usage: str, cases: dict[str, str]) -> str | None:
    """tsc's complaints about ``usage`` (as usage.ts) next to the generated
    sources of ``cases`` (case name: folder under expected/), None if none."""
    for case, folder in cases.items():
        shutil.copytree(CASES / case / "expected" / folder, tmp_path / case)
    (tmp_path / "usage.ts").write_text(usage, encoding="utf-8")
    return tsc_problems(tmp_path)


#: The generated sources of every golden case with an upload: strings (chat,
#: JSON only), a model with wire types (telemetry) and two uploads in one
#: method, one of them bytes (alltypes).
UPLOAD_CASES = {
    "chat": "web/generated",
    "telemetry": "web/telemetry-client/src",
    "alltypes": "web/generated",
}

UPLOADS = """
import { Subject, type HubConnection, type IStreamResult } from "@microsoft/signalr";
import { createChatHub } from "./chat/index.js";
import {
  createTelemetryHub,
  json,
  type HubStream,
  type MessagePackWire,
  type Reading,
  type Snapshot,
  type TelemetryHub,
  type Wire,
} from "./telemetry/index.js";
import { createTypesHub, json as typesJson, type Scalars } from "./alltypes/index.js";

async function* strings(): AsyncGenerator<string> {
  yield "a";
}

export async function uploads(connection: HubConnection): Promise<void> {
  const chat = createChatHub(connection);
  const telemetry = createTelemetryHub(connection, { protocol: json });
  const types = createTypesHub(connection, { protocol: typesJson });

  // what an upload takes: a typed Subject, an async iterable, an IStreamResult
  // of the item type or of a narrower one, a hub stream of the item type
  await chat.upload(new Subject<string>());
  await chat.upload(strings());
  await chat.upload(new Subject<"a" | "b">());
  const official: IStreamResult<string> = new Subject<string>();
  await chat.upload(official);
  const snapshots: HubStream<Snapshot> = null as unknown as HubStream<Snapshot>;
  await telemetry.uploadSnapshots(snapshots);
  await telemetry.uploadSnapshots(new Subject<Snapshot>());
  await types.uploadMany(new Subject<Scalars>(), new Subject<string>(), "tag");

  // what it does not: items that are not the parameter's type
  // @ts-expect-error an untyped Subject has unknown items
  await chat.upload(new Subject());
  // @ts-expect-error null is not a string
  await chat.upload(new Subject<string | null>());
  // @ts-expect-error a Partial<Snapshot> may lack fields the server requires
  await telemetry.uploadSnapshots(new Subject<Partial<Snapshot>>());
  // @ts-expect-error over JSON an image is a base64 string, not a Uint8Array
  await telemetry.uploadSnapshots(new Subject<Snapshot<MessagePackWire>>());
  // @ts-expect-error the first of two uploads is checked
  await types.uploadMany(new Subject<Partial<Scalars>>(), new Subject<string>(), "tag");
  // @ts-expect-error and the second
  await types.uploadMany(new Subject<Scalars>(), new Subject<string | undefined>(), "tag");
  const unknowns: IStreamResult<unknown> = new Subject<unknown>();
  // @ts-expect-error through the official interface as well
  await chat.upload(unknowns);
}

/** Code generic in the wire types uploads W's items. */
export async function generic<W extends Wire>(
  telemetry: TelemetryHub<W>,
  source: Subject<Snapshot<W>>,
): Promise<number> {
  return telemetry.uploadSnapshots(source);
}

/** Stream subscribers are checked as strictly: they take what the stream sends. */
export function subscribe(telemetry: TelemetryHub, numbers: HubStream<number | null>): void {
  const ends = { error(): void {}, complete(): void {} };
  telemetry.watch("d").subscribe({ next: (reading: Reading) => void reading.device, ...ends });
  numbers.subscribe({ next: (value: number | null | string) => void value, ...ends });
  // @ts-expect-error the stream sends null too
  numbers.subscribe({ next: (value: number) => void value, ...ends });
  // @ts-expect-error also with method syntax
  numbers.subscribe({ next(value: number) { void value; }, ...ends });
}
"""


def test_an_upload_takes_only_sources_of_its_item_type(tmp_path: Path) -> None:
    """@microsoft/signalr declares IStreamResult's and IStreamSubscriber's
    members as methods, which TypeScript compares bivariantly; uploads and
    stream subscribers must check their item type all the same."""
    problems = compile_with_cases(tmp_path, UPLOADS, UPLOAD_CASES)
    assert problems is None, problems


SHADOWING_CONTRACT = """
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from pydantic import BaseModel

import hubgen


class S(BaseModel):
    x: int


class S1(BaseModel):
    y: int


class Client(Protocol):
    pass


@hubgen.hub(client=Client)
class Uploads(Protocol):
    async def one(self, items: AsyncIterator[S]) -> int: ...

    async def two(self, first: AsyncIterator[S1], second: AsyncIterator[S]) -> int: ...
"""

SHADOWING_USAGE = """
import { Subject, type HubConnection } from "@microsoft/signalr";
import { createUploads, type S, type S1 } from "./generated/index.js";

export async function use(connection: HubConnection): Promise<number> {
  const hub = createUploads(connection);
  // @ts-expect-error an S needs its x
  await hub.one(new Subject<Partial<S>>());
  // @ts-expect-error an S1 needs its y
  await hub.two(new Subject<Partial<S1>>(), new Subject<S>());
  return (await hub.one(new Subject<S>())) + (await hub.two(new Subject<S1>(), new Subject<S>()));
}
"""


def generate_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: str, contract: str, typescript: str
) -> Path:
    """``hubgen generate`` of ``contract`` (module ``package.contract``) with
    the ``[tool.hubgen.typescript]`` table ``typescript``; the folder web/."""
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / package / "contract.py").write_text(contract, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.hubgen]\ncontracts = ["{package}.contract"]\n\n'
        f'[tool.hubgen.typescript]\nout = "web/generated"\n{typescript}\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["generate"]) == 0
    return tmp_path / "web"


def test_upload_type_parameters_do_not_shadow_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload's type parameter is S (S1, S2, ... for several); a model of
    that name keeps its name, the type parameter gives way."""
    web = generate_contract(tmp_path, monkeypatch, "shadow", SHADOWING_CONTRACT, "")
    hub = (web / "generated" / "uploads.ts").read_text(encoding="utf-8")
    assert "one<S_ extends Uploadable<S>>(items: UploadOf<S_, S>)" in hub
    assert "two<S1_ extends Uploadable<S1>, S2 extends Uploadable<S>>(" in hub
    (web / "usage.ts").write_text(SHADOWING_USAGE, encoding="utf-8")
    problems = tsc_problems(web)
    assert problems is None, problems


#: A hub whose types depend on the protocol (a datetime) and one whose do not.
WIRE_CONTRACT = """
from __future__ import annotations

from datetime import datetime
from typing import Protocol

import hubgen


class StampListener(Protocol):
    async def stamped(self, at: datetime) -> None: ...


@hubgen.hub(client=StampListener)
class StampHub(Protocol):
    async def now(self) -> datetime: ...


class PlainListener(Protocol):
    async def said(self, text: str) -> None: ...


@hubgen.hub(client=PlainListener)
class PlainHub(Protocol):
    async def say(self, text: str) -> str: ...
"""

#: The same whether JSON is enabled too or not.
WIRE_COMMON = """
import { HubConnectionBuilder } from "@microsoft/signalr";
import {
  createPlainHub,
  createStampHub,
  registerPlainListener,
  registerStampListener,
  type JsonWire,
  type MessagePackWire,
  type ProtocolOptions,
  type StampHub,
  type Wire,
} from "./generated/index.js";
import { messagePack } from "./generated/messagepack.js";

const connection = new HubConnectionBuilder().withUrl("/hub").build();

// the protocol decides the wire types...
const binary: StampHub<MessagePackWire> = createStampHub("/hub", { protocol: messagePack });
const wrapped: StampHub<MessagePackWire> = createStampHub(connection, { protocol: messagePack });
export const at: Promise<Date> = binary.now();
const options = { protocol: messagePack };
registerStampListener(connection, { stamped: (when) => void when.getTime() }, options);
// ... so it is said when a connection is wrapped
// @ts-expect-error
createStampHub(connection);
// @ts-expect-error
registerStampListener(connection, { stamped: (when) => void when });
// ... and no type argument or annotation stands in for it
// @ts-expect-error
const annotated: StampHub<MessagePackWire> = createStampHub(connection);
// @ts-expect-error
createStampHub<JsonWire>("/hub", { protocol: messagePack });

// code generic in the wire types passes its protocol on
export function generic<W extends Wire>(options: ProtocolOptions<W>): StampHub<W> {
  return createStampHub(connection, options);
}

// a hub whose types do not depend on the protocol may say it, or not
createPlainHub(connection);
createPlainHub(connection, { protocol: messagePack });
registerPlainListener(connection, { said: (text) => void text });
registerPlainListener(connection, { said: (text) => void text }, { protocol: messagePack });

void [wrapped, annotated];
"""

#: JSON and MessagePack: JSON is the default.
WIRE_BOTH = (
    WIRE_COMMON
    + """
import { json } from "./generated/index.js";

const text: StampHub<JsonWire> = createStampHub("/hub");
const chosen: StampHub<JsonWire> = createStampHub("/hub", { protocol: json, reconnect: true });
export const when: Promise<string> = text.now();
createPlainHub("/hub");
// @ts-expect-error a JSON connection's hub is no MessagePack hub
const wrong: StampHub<MessagePackWire> = createStampHub(connection, { protocol: json });
// @ts-expect-error over JSON a datetime is a string
registerStampListener(connection, { stamped: (when: Date) => void when }, { protocol: json });

void [chosen, wrong];
"""
)

#: MessagePack only: the protocol is required, for a URL too.
WIRE_MESSAGEPACK = (
    WIRE_COMMON
    + """
// @ts-expect-error
createStampHub("/hub");
// @ts-expect-error
createStampHub("/hub", { reconnect: true });
// @ts-expect-error
createPlainHub("/hub");
createPlainHub("/hub", { protocol: messagePack });
"""
)


@pytest.mark.parametrize(
    ("protocols", "usage"),
    [('["json", "messagepack"]', WIRE_BOTH), ('["messagepack"]', WIRE_MESSAGEPACK)],
    ids=["json-and-messagepack", "messagepack"],
)
def test_the_wire_types_follow_from_the_protocol(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, protocols: str, usage: str
) -> None:
    """Every factory and registration shape: hubs whose types depend on the
    protocol and hubs whose do not, with JSON enabled or MessagePack only."""
    web = generate_contract(
        tmp_path, monkeypatch, "wires", WIRE_CONTRACT, f"protocols = {protocols}"
    )
    (web / "usage.ts").write_text(usage, encoding="utf-8")
    problems = tsc_problems(web)
    assert problems is None, problems


#: Golden cases with push handlers and client results: JSON only (chat), one
#: client shared by two hubs (shared), wire types (telemetry).
HANDLER_CASES = {
    "chat": "web/generated",
    "shared": "web/generated",
    "telemetry": "web/telemetry-client/src",
}

HANDLERS = """
import type { HubConnection } from "@microsoft/signalr";
import {
  createChatHub,
  registerChatClient,
  type ChatClient,
  type ChatMessage,
} from "./chat/index.js";
import { createAuditHub, createOrdersHub, registerListener, type Event } from "./shared/index.js";
import {
  createAdminHub,
  createTelemetryHub,
  json,
  registerDashboard,
  type Reading,
} from "./telemetry/index.js";

export function handlers(connection: HubConnection): void {
  const seen: unknown[] = [];
  const chat = createChatHub(connection);

  // SignalR ignores what a push handler returns (and awaits a promise):
  // an arrow whose body is an expression is a push handler too
  chat.register({ messageReceived: (message) => seen.push(message) });
  chat.onMessageReceived((message: ChatMessage) => seen.push(message.text));
  chat.onMessageReceived(async (message) => message.text.length);
  registerChatClient(connection, { messageReceived: (message) => seen.push(message) });
  const receiver: Partial<ChatClient> = { messageReceived: (message) => seen.push(message) };
  class Recorder implements Pick<ChatClient, "messageReceived"> {
    messageReceived(message: ChatMessage): number {
      return seen.push(message);
    }
  }
  chat.register(new Recorder());
  // ... whichever hub shares the client
  for (const hub of [createOrdersHub(connection), createAuditHub(connection)]) {
    hub.register({ event: (event: Event) => seen.push(event) });
    hub.onEvent((event) => seen.push(event));
  }
  registerListener(connection, { event: (event) => seen.push(event) });
  // ... and with wire types
  const telemetry = createTelemetryHub(connection, { protocol: json });
  telemetry.onReadingAdded((reading: Reading) => seen.push(reading.takenAt));
  createAdminHub(connection, { protocol: json }).register({ readingAdded: (r) => seen.push(r) });
  registerDashboard(connection, { readingAdded: (r) => seen.push(r) }, { protocol: json });

  // a client result is the answer the server awaits: it stays checked
  chat.register({ confirm: (question) => question.length > 0 });
  chat.onConfirm(async () => true);
  telemetry.onAcknowledge((alert) => alert === "ok");
  // @ts-expect-error a client result must be a boolean
  chat.register({ confirm: (question) => seen.push(question) });
  // @ts-expect-error not a string
  chat.onConfirm(async (question) => question);
  // @ts-expect-error nor nothing
  chat.onConfirm(() => {});
  // @ts-expect-error through the registration function as well
  registerChatClient(connection, { confirm: () => "yes" });
  // @ts-expect-error and with wire types
  telemetry.onAcknowledge((alert) => alert);
  // @ts-expect-error the same
  registerDashboard(connection, { acknowledge: () => undefined }, { protocol: json });
  // push handlers' parameters are checked as before
  // @ts-expect-error a ChatMessage is not a string
  chat.onMessageReceived((message: string) => seen.push(message));

  void receiver;
}
"""


def test_push_handlers_may_return_anything_client_results_may_not(tmp_path: Path) -> None:
    """Every way to register a handler (register(), on<Method>(),
    register<Client>(), a class instance), for a client of one hub, of two
    and with wire types: a push handler may return a value, a client result
    must return the declared one."""
    problems = compile_with_cases(tmp_path, HANDLERS, HANDLER_CASES)
    assert problems is None, problems


#: Parameter names TypeScript spells differently: a reserved word, a local
#: name of the generated functions, and names beyond ASCII (a Python
#: identifier is a TypeScript identifier).
PARAMETERS_CONTRACT = """
from __future__ import annotations

from typing import Protocol

import hubgen


class Guests(Protocol):
    async def greeted(self, café: str, default: int) -> None: ...


@hubgen.hub(client=Guests)
class Lobby(Protocol):
    async def greet(self, café: str, naïve: bool, default: int, options: str) -> str: ...
"""

PARAMETERS_USAGE = """
import type { HubConnection } from "@microsoft/signalr";
import { createLobby } from "./generated/index.js";

export async function use(connection: HubConnection): Promise<string> {
  const hub = createLobby(connection);
  hub.onGreeted((café: string, default_: number) => void [café, default_]);
  // @ts-expect-error naïve is a boolean
  await hub.greet("au lait", "yes", 1, "x");
  return await hub.greet("au lait", true, 1, "x");
}
"""


@pytest.mark.timeout(120)
def test_parameter_names_beyond_ascii_and_reserved_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name beyond ASCII used to send the generator into an endless loop.
    web = generate_contract(tmp_path, monkeypatch, "lobby", PARAMETERS_CONTRACT, "")
    hub = (web / "generated" / "lobby.ts").read_text(encoding="utf-8")
    assert "greet(café: string, naïve: boolean, default_: number, options_: string)" in hub
    assert "greeted: (café: string, default_: number) => unknown;" in hub
    (web / "usage.ts").write_text(PARAMETERS_USAGE, encoding="utf-8")
    problems = tsc_problems(web)
    assert problems is None, problems


STREAM_OPTIONS = """
import type { HubConnection } from "@microsoft/signalr";
import {
  createSensorHub,
  json,
  type AbortSignalLike,
  type HubStream,
  type Reading,
  type ReadingFilterInput,
  type StreamOptions,
} from "./pascal/index.js";

export function streams(
  connection: HubConnection,
  signal: AbortSignalLike,
  maybe: AbortSignalLike | undefined,
  filter: ReadingFilterInput,
  options: StreamOptions,
): Array<HubStream<Reading>> {
  const hub = createSensorHub(connection, { protocol: json });
  return [
    hub.readings(3),
    // the options follow the last argument given
    hub.readings(3, { signal }),
    hub.readings(3, null, { signal: maybe }),
    hub.readings(3, filter, options),
    hub.readings(3, undefined, 0.5, options),
    hub.readings(3, { MinValue: 1 }, 0.5, { signal }),
    // in the place of the filter (a model), an object is a filter unless it
    // holds an abort signal: {} is an empty filter, not empty options
    hub.readings(3, {}),
    hub.readings(3, filter),
    hub.readings(3, { SensorIds: ["a"] }),
    // @ts-expect-error options in the place of a model need their signal
    hub.readings(3, { signal: maybe }),
    // @ts-expect-error so do options of an unknown shape there
    hub.readings(3, options),
    // @ts-expect-error the fields are PascalCase on the wire, and so in the filter
    hub.readings(3, { minValue: 1 }),
    // @ts-expect-error a signal alone is not options
    hub.readings(3, signal),
    // @ts-expect-error the options come last
    hub.readings(3, { signal }, 0.5),
    // @ts-expect-error nothing after them
    hub.readings(3, null, 0.5, { signal }, 1),
    // @ts-expect-error a number where the filter goes
    hub.readings(3, 0.5, { signal }),
  ];
}

export const reading: Reading = {
  SensorId: "a",
  Value: 1,
  TakenAt: "2024-01-01T00:00:00Z",
  unitCode: "C",
};
// @ts-expect-error the fields are PascalCase, but for the aliased one
export const camel: Reading = { sensorId: "a", value: 1, takenAt: "x", unitCode: "C" };
"""


def test_stream_options_follow_the_last_argument_given(tmp_path: Path) -> None:
    """``readings(count, where: ReadingFilter | None = None, delay = 0.0)``:
    options may follow ``count``, ``where`` or ``delay``; where they stand for
    the model they must hold their signal, so that neither tsc nor the
    runtime can take one for the other."""
    problems = compile_with_cases(tmp_path, STREAM_OPTIONS, {"pascal": "web/generated"})
    assert problems is None, problems


USING = """
import type { HubConnection } from "@microsoft/signalr";
import {
  createChatHub,
  registerChatClient,
  type Disposable,
  type HubSubscription,
} from "./chat/index.js";

export function scoped(connection: HubConnection): number {
  const hub = createChatHub(connection);
  using registration = hub.register({ messageReceived: () => undefined });
  using one = hub.onConfirm(async () => true);
  using client = registerChatClient(connection, {});
  using subscription = hub.ticker("HUB").subscribe({
    next: (price: number) => void price,
    error: () => {},
    complete: () => {},
  });
  const disposables: Disposable[] = [registration, one, client];
  const subscriptions: Array<HubSubscription<number>> = [subscription];
  // they are the lib's Disposables as well
  const stack = new DisposableStack();
  stack.use(hub.register({}));
  stack.use(subscriptions[0]);
  stack.dispose();
  return disposables.length;
}
"""

WITHOUT_USING = """
import type { HubConnection } from "@microsoft/signalr";
import { createChatHub, type Disposable, type HubSubscription } from "./chat/index.js";

export function unscoped(connection: HubConnection): void {
  const hub = createChatHub(connection);
  const registration: Disposable = hub.register({ messageReceived: () => undefined });
  const subscription: HubSubscription<number> = hub.ticker("HUB").subscribe({
    next: (price: number) => void price,
    error: () => {},
    complete: () => {},
  });
  registration.dispose();
  subscription.dispose();
  // @ts-expect-error this lib has no Symbol.dispose, and the package declares none
  void Symbol.dispose;
}
"""


@pytest.mark.parametrize(
    ("lib", "usage"),
    [
        (["es2022", "esnext.disposable"], USING),
        (["esnext"], USING),
        (["es2022", "dom", "esnext.disposable"], USING),
        (["es2022"], WITHOUT_USING),
        (["es2022", "dom"], WITHOUT_USING),
    ],
    ids=["esnext.disposable", "esnext", "dom-and-disposable", "es2022", "dom"],
)
def test_registrations_and_subscriptions_work_with_using(
    tmp_path: Path, lib: list[str], usage: str
) -> None:
    """With a lib that declares ``Symbol.dispose``, what ``register``,
    ``on<Method>``, ``register<Client>`` and ``subscribe`` return is disposable
    by ``using``; with one that does not, the same sources compile, and the
    package adds no ``Symbol.dispose`` of its own to the consumer's globals."""
    shutil.copytree(CASES / "chat" / "expected" / "web" / "generated", tmp_path / "chat")
    (tmp_path / "usage.ts").write_text(usage, encoding="utf-8")
    problems = tsc_problems(tmp_path, lib)
    assert problems is None, problems
