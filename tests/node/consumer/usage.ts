// A consumer of the packed @hubgen-tests/echo-client package, as an application
// would use it: installed from its tarball, compiled with the strictest flags
// and a lib with esnext.disposable (for `using`), run in Node against the echo
// hub by tests/e2e/test_typescript_package.py.
// Prints one JSON object a line: {"step": ..., "value": ...}.
//
// Usage: node usage.js <hub url>
import {
  type EchoClient,
  type EchoHub,
  type HubStream,
  type Item,
  type MessagePackWire,
  Color,
  createEchoHub,
  registerEchoClient,
} from "@hubgen-tests/echo-client";
import { messagePack } from "@hubgen-tests/echo-client/messagepack";
import { HttpTransportType, HubConnectionBuilder, LogLevel, Subject } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

const url = process.argv[2];
if (url === undefined) {
  throw new Error("usage: node usage.js <hub url>");
}

function report(step: string, value: unknown): void {
  process.stdout.write(`${JSON.stringify({ step, value })}\n`);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function* numbers(...values: number[]): AsyncGenerator<number> {
  for (const value of values) {
    yield value;
  }
}

async function collect<T>(stream: HubStream<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) {
    items.push(item);
  }
  return items;
}

const hub: EchoHub = createEchoHub(url, { logger: LogLevel.Error });

// a partial receiver: only the methods this application handles; SignalR
// ignores what a push handler returns, so an arrow returning a value will do
const messages: string[] = [];
const receiver: Partial<EchoClient> = { message: (text) => messages.push(text) };
const registration = hub.register(receiver);
// a client result: the server awaits the answer
const answering = hub.onAsk((question) => question.length);

await hub.connection.start();
report("echo", await hub.echo("hello"));
report("add", await hub.add(1)); // the default travels explicitly
const item: Item = await hub.echoItem({ name: "thing", color: Color.GREEN });
report("echoItem", item);

report("counter", await collect(hub.counter(3)));

// leaving a loop early cancels the stream on the server
const early: number[] = [];
for await (const value of hub.counter(1000, 0.01)) {
  early.push(value);
  if (early.length === 3) {
    break;
  }
}
report("break", early);

// so does aborting the call's signal; the loop throws the signal's reason
const controller = new AbortController();
const aborted: number[] = [];
try {
  for await (const value of hub.counter(1000, 0.01, { signal: controller.signal })) {
    aborted.push(value);
    if (aborted.length === 2) {
      controller.abort(new Error("enough"));
    }
  }
  report("abort", "not aborted");
} catch (error: unknown) {
  report("abort", { items: aborted, error: describe(error) });
}

// an already aborted signal never starts the stream
try {
  await collect(hub.counter(5, 0, { signal: AbortSignal.abort() }));
} catch (error: unknown) {
  report("abortedBefore", describe(error));
}

// the options may follow the last required argument: delay keeps its default
// (taken for the delay, they would fail to bind on the server)
const live = new AbortController();
report("optionsAfterRequired", await collect(hub.counter(3, { signal: live.signal })));
try {
  await collect(hub.counter(6, { signal: AbortSignal.abort() }));
} catch (error: unknown) {
  report("abortedAfterRequired", describe(error));
}

try {
  await collect(hub.failingStream(2));
} catch (error: unknown) {
  report("failingStream", describe(error));
}

report("sumUpload", await hub.sumUpload(numbers(1, 2, 3, 4)));
// the official client's idiom: a Subject (typed: an untyped one does not compile)
const subject = new Subject<number>();
const summing = hub.sumUpload(subject);
subject.next(5);
subject.next(6);
subject.complete();
report("subjectUpload", await summing);
// a hub stream is an upload source too: the items go back as they arrive
report("streamUpload", await hub.sumUpload(hub.counter(4)));
// a subscriber may take more than the stream sends (number | null for numbers)
const subscribed = await new Promise<Array<number | null>>((resolve, reject) => {
  const items: Array<number | null> = [];
  hub.counter(2).subscribe({
    next: (value: number | null) => items.push(value),
    error: reject,
    complete: () => resolve(items),
  });
});
report("subscribe", subscribed);
report("doubleUpload", await collect(hub.doubleUpload(numbers(5, 6))));
report("askCaller", await hub.askCaller("how long is this?"));

await hub.sendCaller("one");
registration.dispose();
answering.dispose();
await hub.sendCaller("two"); // no handler any more
await hub.whoami(); // the server answers after it sent "two"
report("messages", messages);
try {
  await hub.askCaller("anyone?");
  report("askAfterDispose", "answered");
} catch (error: unknown) {
  report("askAfterDispose", describe(error));
}

// `using`: the end of the block disposes the registrations it holds
const scoped: string[] = [];
{
  using scopedReceiver = hub.register({ message: (text) => void scoped.push(text) });
  using scopedAnswer = hub.onAsk((question) => question.length * 2);
  await hub.sendCaller("inside");
  report("usingAsk", await hub.askCaller("four"));
  void [scopedReceiver, scopedAnswer];
}
await hub.sendCaller("outside"); // no handler any more
await hub.whoami();
report("usingMessages", scoped);
try {
  await hub.askCaller("anyone?");
  report("usingAskAfter", "answered");
} catch (error: unknown) {
  report("usingAskAfter", describe(error));
}

// ... and a subscription it holds: the stream is cancelled on the server
const held: number[] = [];
{
  let twoArrived: () => void = () => {};
  const arrived = new Promise<void>((resolve) => {
    twoArrived = resolve;
  });
  using subscription = hub.counter(999, 0.01).subscribe({
    next: (value: number | null) => {
      if (value !== null && held.push(value) === 2) {
        twoArrived();
      }
    },
    error: () => {},
    complete: () => {},
  });
  await arrived;
  void subscription;
}
report("usingSubscription", held.slice(0, 2));

// an engine without Symbol.dispose (Node.js before 18.18, older browsers):
// the registry symbol esbuild's and Babel's lowering of `using` look up instead
// (Node's own Symbol.dispose cannot be deleted: a stand-in Symbol lacks it)
const engineSymbol = globalThis.Symbol;
globalThis.Symbol = new Proxy((() => undefined) as unknown as SymbolConstructor, {
  get: (_, key) => (key === "dispose" ? undefined : Reflect.get(engineSymbol, key)),
});
const fallbackMessages: string[] = [];
const fallback = hub.register({ message: (text) => void fallbackMessages.push(text) });
globalThis.Symbol = engineSymbol;
const registryKey = Symbol.for("Symbol.dispose");
const fallbackDispose: unknown = (fallback as unknown as Record<symbol, unknown>)[registryKey];
await hub.sendCaller("before");
if (typeof fallbackDispose === "function") {
  fallbackDispose.call(fallback);
}
await hub.sendCaller("after");
await hub.whoami();
report("disposeFallback", {
  registryKey: typeof fallbackDispose,
  messages: fallbackMessages,
});
await hub.connection.stop();

// stateful reconnect, over WebSockets: the server keeps the connection's
// messages for a new socket (it records that it does, on whoami)
const stateful = createEchoHub(url, {
  statefulReconnect: { bufferSize: 200_000 },
  transport: HttpTransportType.WebSockets,
  logger: LogLevel.Error,
});
await stateful.connection.start();
await stateful.whoami();
report("statefulReconnect", stateful.connection.state === "Connected" ? "connected" : "not");
await stateful.connection.stop();

// MessagePack: bytes are Uint8Array and datetimes Date, as the types say
const binary = createEchoHub(url, { protocol: messagePack, logger: LogLevel.Error });
await binary.connection.start();
const sent = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
const echoed: Item<MessagePackWire> = await binary.echoItem({
  name: "bytes",
  payload: new Uint8Array([1, 2, 255]),
  createdAt: sent,
});
report("messagepack", {
  payload: Array.from(echoed.payload),
  createdAt: echoed.createdAt?.toISOString() ?? null,
  payloadIsUint8Array: echoed.payload instanceof Uint8Array,
});
await binary.connection.stop();

// a connection the application built: wrapping it, and registering a receiver
// on it, says which protocol it uses; the wire types follow
const built = new HubConnectionBuilder()
  .withUrl(url)
  .withHubProtocol(new MessagePackHubProtocol())
  .configureLogging(LogLevel.Error)
  .build();
const wrapped: EchoHub<MessagePackWire> = createEchoHub(built, { protocol: messagePack });
const pushed = new Promise<Item<MessagePackWire>>((resolve) => {
  // an async push handler is awaited; what it returns is ignored too
  const itemReceived = async (pushedItem: Item<MessagePackWire>): Promise<number> => {
    resolve(pushedItem);
    return pushedItem.payload.length;
  };
  registerEchoClient(built, { itemReceived }, { protocol: messagePack });
});
await built.start();
await wrapped.sendItemToAll({ name: "pushed", payload: new Uint8Array([7, 8]), createdAt: sent });
const pushedItem = await pushed;
const when: Date = await wrapped.echoWhen(sent);
report("wrapped", {
  payload: Array.from(pushedItem.payload),
  createdAt: pushedItem.createdAt?.toISOString() ?? null,
  echoWhen: when.toISOString(),
});
await built.stop();

// a connection whose protocol is not the one declared is refused at once
const jsonConnection = new HubConnectionBuilder().withUrl(url).build();
const refused: string[] = [];
for (const wrap of [
  () => createEchoHub(jsonConnection, { protocol: messagePack }),
  () => registerEchoClient(jsonConnection, {}, { protocol: messagePack }),
]) {
  try {
    wrap();
    refused.push("accepted");
  } catch (error: unknown) {
    refused.push(describe(error));
  }
}
report("wrongProtocol", refused);
report("done", null);
