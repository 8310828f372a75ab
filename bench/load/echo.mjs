// Closed-loop echo load: N connections, each sends a payload and waits for it
// to come back, for D seconds after a warm-up. The same loop for every server
// kind; only the client library differs. Prints one JSON object.
//   node echo.mjs --kind signalr|socketio|ws --url URL [--protocol json|messagepack]
//                 [--transport WebSockets|ServerSentEvents|LongPolling]
//                 [--connections 50] [--duration 5] [--warmup 1] [--payload 32]
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { io } from "socket.io-client";
import WebSocket from "ws";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const kind = args.kind;
const connections = Number(args.connections ?? 50);
const duration = Number(args.duration ?? 5) * 1000;
const warmup = Number(args.warmup ?? 1) * 1000;
const payload = "x".repeat(Number(args.payload ?? 32));

async function open() {
  if (kind === "signalr") {
    let builder = new signalR.HubConnectionBuilder()
      .withUrl(args.url, { transport: signalR.HttpTransportType[args.transport ?? "WebSockets"], skipNegotiation: false })
      .configureLogging(signalR.LogLevel.Error);
    if (args.protocol === "messagepack") builder = builder.withHubProtocol(new MessagePackHubProtocol());
    const connection = builder.build();
    await connection.start();
    return { call: () => connection.invoke("Echo", payload), close: () => connection.stop() };
  }
  if (kind === "socketio") {
    const socket = io(args.url, { transports: ["websocket"], forceNew: true });
    await new Promise((resolve, reject) => { socket.once("connect", resolve); socket.once("connect_error", reject); });
    return { call: () => socket.emitWithAck("echo", payload), close: () => socket.close() };
  }
  if (kind === "ws") {
    const ws = new WebSocket(args.url);
    await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
    let waiting = null;
    ws.on("message", (data) => { const resolve = waiting; waiting = null; resolve(data); });
    return {
      call: () => new Promise((resolve) => { waiting = resolve; ws.send(payload); }),
      close: () => ws.close(),
    };
  }
  throw new Error(`unknown kind ${kind}`);
}

const clients = [];
for (let i = 0; i < connections; i++) clients.push(await open());

const latencies = [];
let measuring = false;
let stop = false;
async function loop(client) {
  while (!stop) {
    const start = process.hrtime.bigint();
    const answer = await client.call();
    if (typeof answer === "string" && answer.length !== payload.length) throw new Error("wrong echo");
    if (measuring) latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
}
const loops = clients.map(loop);
await new Promise((r) => setTimeout(r, warmup));
const cpuBefore = process.cpuUsage();
const t0 = process.hrtime.bigint();
measuring = true;
await new Promise((r) => setTimeout(r, duration));
measuring = false;
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
stop = true;
await Promise.all(loops);
await Promise.all(clients.map((c) => c.close()));

latencies.sort((a, b) => a - b);
const pick = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? null;
console.log(JSON.stringify({
  calls: latencies.length,
  seconds,
  rate: latencies.length / seconds,
  p50_ms: pick(0.5),
  p99_ms: pick(0.99),
  client_cpu: (cpu.user + cpu.system) / 1e6 / seconds,
}));
process.exit(0);
