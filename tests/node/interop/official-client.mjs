// Drives the official @microsoft/signalr client against a hubgen echo hub and
// prints what it observed as one JSON object; the Python tests hold the
// expectations. Usage: node official-client.mjs <hubUrl> <transport> <protocol>
//   transport: WebSockets | ServerSentEvents | LongPolling
//   protocol:  json | messagepack
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

const [url, transportName, protocolName] = process.argv.slice(2);
const transport = signalR.HttpTransportType[transportName];

function connect(extra = {}) {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(url, { transport, ...extra })
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
