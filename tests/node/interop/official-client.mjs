// Drives the official @microsoft/signalr client against a hubgen echo hub and
// prints what it observed as one JSON object; the Python tests hold the
// expectations.
// Usage: node official-client.mjs <hubUrl> <transport> <protocol> <detailedHubUrl>
//   transport: WebSockets | ServerSentEvents | LongPolling
//   protocol:  json | messagepack
//   detailedHubUrl: the same hub on a server with detailed errors on
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

const [url, transportName, protocolName, detailedUrl] = process.argv.slice(2);
const transport = signalR.HttpTransportType[transportName];
const mp = protocolName === "messagepack";

function connect(extra = {}, hubUrl = url) {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(hubUrl, { transport, ...extra })
    .configureLogging(signalR.LogLevel.Warning);
  if (protocolName === "messagepack") builder = builder.withHubProtocol(new MessagePackHubProtocol());
  return builder.build();
}

async function errorOf(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    return String(err.message);
  }
}

function nextCall(connection, name, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} within ${timeoutMs}ms`)), timeoutMs);
    const handler = (...args) => {
      clearTimeout(timer);
      connection.off(name, handler);
      resolve(args);
    };
    connection.on(name, handler);
  });
}

// What arrived, in a form JSON can carry: Dates, byte arrays, BigInts and
// integers beyond 2^53 (printed exactly) tagged.
function tagged(value) {
  if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    return `unsafe:${BigInt(value)}`;
  }
  if (value instanceof Date) return `Date:${value.toISOString()}`;
  if (value instanceof Uint8Array) return `Uint8Array:${Array.from(value)}`;
  if (typeof value === "bigint") return `bigint:${value}`;
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return value.map(tagged);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, tagged(v)]));
  }
  return value;
}

function collect(stream) {
  return new Promise((resolve, reject) => {
    const items = [];
    stream.subscribe({ next: (i) => items.push(i), complete: () => resolve(items), error: reject });
  });
}

const out = {};
const a = connect();
const b = connect({ headers: { "X-Probe": "from-node" } });
await a.start();
await b.start();
out.connectionIdMatches = a.connectionId === (await a.invoke("Whoami"));
out.echo = await a.invoke("Echo", "hi from node");
out.unicode = await a.invoke("Echo", "héllo ✓ 🎉");
out.add = await a.invoke("Add", 1, 2);
out.addDefault = await a.invoke("Add", 1);
const when = new Date(Date.UTC(2024, 4, 1, 12, 30, 0));
const item = { name: "box", quantity: 3, tags: ["a", "b"], color: "green", createdAt: protocolName === "json" ? when.toISOString() : when, payload: protocolName === "json" ? "AAEC" : new Uint8Array([0, 1, 2]) };
const echoed = await a.invoke("EchoItem", item);
out.item = {
  ...echoed,
  createdAt: echoed.createdAt instanceof Date ? `Date:${echoed.createdAt.toISOString()}` : echoed.createdAt,
  payload: echoed.payload instanceof Uint8Array ? `bytes:${Array.from(echoed.payload)}` : echoed.payload,
};
out.sendResolved = (await a.send("Echo", "fire and forget")) === undefined;
out.unknownMethod = await errorOf(a.invoke("Nope"));
out.badArgument = await errorOf(a.invoke("Add", "one"));
out.hubError = await errorOf(a.invoke("Fail", "told you"));
out.crash = await errorOf(a.invoke("Crash"));

// server push
let got = nextCall(b, "message");
await a.invoke("Broadcast", "to everyone");
out.broadcast = await got;
got = nextCall(a, "Message"); // handler names match ignoring case
await b.invoke("SendTo", a.connectionId, "direct");
out.direct = await got;
got = nextCall(b, "ItemReceived");
await a.invoke("SendItemToAll", { name: "pushed" });
const pushed = (await got)[0];
out.pushedItem = { name: pushed.name, quantity: pushed.quantity, createdAt: pushed.createdAt };
await a.invoke("Join", "room");
got = nextCall(a, "Message");
await b.invoke("SendGroup", "room", "to the room");
out.group = await got;
out.header = await b.invoke("GetHeader", "x-probe");

// streams
out.stream = await collect(a.stream("Counter", 5));
out.streamError = await collect(a.stream("FailingStream", 1)).then(() => null, (e) => String(e.message));
const canceled = await new Promise((resolve) => {
  const items = [];
  const sub = a.stream("Counter", 1000, 0.01).subscribe({
    next: (i) => { items.push(i); if (items.length === 3) { sub.dispose(); resolve(items); } },
    complete: () => resolve(["completed?"]),
    error: (e) => resolve([String(e)]),
  });
});
out.canceledStream = canceled;
out.afterCancel = await a.invoke("Echo", "still alive");
const subject = new signalR.Subject();
const sum = a.invoke("SumUpload", subject);
for (let i = 1; i <= 25; i++) subject.next(i);
subject.complete();
out.upload = await sum;
const doubles = new signalR.Subject();
const doubled = collect(a.stream("DoubleUpload", doubles));
[1, 2, 3].forEach((i) => doubles.next(i));
doubles.complete();
out.bothWays = await doubled;

// client results
a.on("Ask", (question) => (question === "answer?" ? 42 : undefined));
out.clientResult = await a.invoke("AskCaller", "answer?");
out.clientResultMissing = await errorOf(a.invoke("AskCaller", "no idea"));
b.on("Ask", async () => { throw new Error("from callback"); });
out.clientResultThrows = await errorOf(a.invoke("AskClient", b.connectionId, "?"));

// the codec table: what arrives, and what the server binds from what a JS client sends
const sample = await a.invoke("MakeSample");
out.sample = tagged(sample);
out.sampleEchoed = tagged(await a.invoke("EchoSample", sample));
out.sampleBound = await a.invoke("DescribeSample", sample);
// A sample as a JS user writes it: each protocol's native forms, defaulted fields left out.
const built = {
  aware: mp ? new Date("2024-05-01T12:30:15.123Z") : "2024-05-01T12:30:15.123Z",
  naive: mp ? new Date("2024-05-01T12:30:00Z") : "2024-05-01T12:30:00",
  day: "2024-02-29",
  clock: "23:59:58.000005",
  span: "P1DT2H3.0005S",
  blob: mp ? new Uint8Array([0, 1, 254, 255]) : "AAH+/w==",
  amount: "1234567890.0123456789",
  ident: "12345678-1234-5678-1234-567812345678",
  priority: 2,
  color: "green",
  big: 2 ** 60,
  nullable: null,
  tag: { label: "one" },
  tags: [{ label: "two", weight: 2 }],
  tagMap: { four: { label: "four", weight: 4 } },
};
out.builtBound = await a.invoke("DescribeSample", built);
out.builtFullBound = await a.invoke("DescribeSample", {
  ...built,
  nullable: "set",
  defaulted: "given",
  optional: null,
  nick_name: "nick",
});
out.builtEchoed = tagged(await a.invoke("EchoSample", built));
const { nullable: _dropped, ...withoutNullable } = built;
out.missingNullable = await errorOf(a.invoke("DescribeSample", withoutNullable));
out.wrongFieldType = await errorOf(a.invoke("EchoSample", { ...built, blob: 5 }));
out.big = tagged(await a.invoke("EchoBig", 2 ** 53 + 2));
out.bigPowerOfTwo = tagged(await a.invoke("EchoBig", 2 ** 60));
out.bigType = typeof sample.big;
out.beyond64Bits = await a.invoke("Add", 2 ** 63, 2 ** 63).then(tagged, (e) => `error:${e.message}`);
out.blob = tagged(await a.invoke("EchoBlob", mp ? new Uint8Array([1, 2, 3]) : "AQID"));
out.when = tagged(await a.invoke("EchoWhen", mp ? new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)) : "2024-01-02T03:04:05.006Z"));

// binding errors: a Completion error naming the method and parameter; the connection stays up
out.tooManyArguments = await errorOf(a.invoke("Add", 1, 2, 3));
out.tooFewArguments = await errorOf(a.invoke("Add"));
out.wrongType = await errorOf(a.invoke("Add", "one"));
out.failedValidation = await errorOf(a.invoke("Bounded", 11));
out.validated = await a.invoke("Bounded", 10);
out.streamBindingError = await collect(a.stream("Counter", "many")).then(() => null, (e) => String(e.message));
out.aliveAfterErrors = await a.invoke("Echo", "alive");
out.stateAfterErrors = a.state;

// server-side errors with detailed errors on
const d = connect({}, detailedUrl);
await d.start();
out.detailedCrash = await errorOf(d.invoke("Crash"));
out.detailedHubError = await errorOf(d.invoke("Fail", "told you"));
out.detailedWrongType = await errorOf(d.invoke("Add", "one"));
out.detailedStreamError = await collect(d.stream("FailingStream", 0)).then(() => null, (e) => String(e.message));
out.detailedAlive = await d.invoke("Echo", "alive");
await d.stop();

// close
const closedB = new Promise((resolve) => b.onclose((e) => resolve(e ? String(e.message) : null)));
await b.invoke("AbortMe").catch(() => {});
out.abortClose = await closedB;
const closedA = new Promise((resolve) => a.onclose((e) => resolve(e ? String(e.message) : null)));
await a.stop();
out.stopClose = await closedA;
out.state = a.state;
console.log(JSON.stringify(out));
process.exit(0);
