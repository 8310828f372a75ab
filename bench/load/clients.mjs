// One connection interface over every server and client library the
// benchmarks use, so each scenario's loop is the same for every server:
//
//   const c = await connect({ kind, client, url, protocol, transport });
//   await c.invoke("Echo", payload);        // a call and its result
//   c.send("Broadcast", payload);           // fire and forget
//   c.on("Received", (payload) => ...);     // server-to-client calls
//   const s = c.stream("Counter", [n], (item) => ...); s.cancel();
//   await c.close();
//
// kind:   signalr (hubgen, aiosignalr) | socketio (python-socketio) | ws (raw WebSocket)
// client: official (@microsoft/signalr, socket.io-client) | lean (this file, over `ws`)
//
// The lean clients speak the same wire protocol as the official ones (SignalR
// JSON and MessagePack hub protocols; Engine.IO 4 / Socket.IO 5 over a
// WebSocket) with none of their per-message bookkeeping, so that one Node core
// can drive a Python server to saturation in the high-rate rows.
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { Decoder, Encoder } from "@msgpack/msgpack";
import { io } from "socket.io-client";
import WebSocket from "ws";

const RS = "\x1e";
const PING_INTERVAL_MS = 15_000;

export async function connect(options) {
  const { kind, client = "official" } = options;
  if (kind === "signalr") return client === "lean" ? leanSignalR(options) : officialSignalR(options);
  if (kind === "socketio") return client === "lean" ? leanSocketIO(options) : officialSocketIO(options);
  if (kind === "ws") return rawWebSocket(options);
  throw new Error(`unknown kind ${kind}`);
}

function opened(ws) {
  return new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
}

// -- the official clients -----------------------------------------------------

async function officialSignalR({ url, protocol, transport = "WebSockets" }) {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(url, { transport: signalR.HttpTransportType[transport] })
    .configureLogging(signalR.LogLevel.Error);
  if (protocol === "messagepack") builder = builder.withHubProtocol(new MessagePackHubProtocol());
  const connection = builder.build();
  connection.serverTimeoutInMilliseconds = 120_000;
  await connection.start();
  return {
    invoke: (target, ...args) => connection.invoke(target, ...args),
    send: (target, ...args) => connection.send(target, ...args),
    on: (target, handler) => connection.on(target, handler),
    stream(target, args, onItem) {
      const subscription = connection.stream(target, ...args).subscribe({ next: onItem, error: () => {}, complete: () => {} });
      return { cancel: () => subscription.dispose() };
    },
    close: () => connection.stop(),
  };
}

const snake = (name) => name.replace(/(?<!^)([A-Z])/g, "_$1").toLowerCase();

async function officialSocketIO({ url }) {
  const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return {
    invoke: (target, ...args) => socket.emitWithAck(snake(target), ...args),
    send: (target, ...args) => socket.emit(snake(target), ...args),
    on: (target, handler) => socket.on(snake(target), handler),
    stream() {
      throw new Error("Socket.IO has no streams");
    },
    close: () => socket.close(),
  };
}

// -- raw WebSocket: the route decides what the server does ----------------------

async function rawWebSocket({ url }) {
  const ws = new WebSocket(url);
  await opened(ws);
  let handler = null;
  ws.on("message", (data) => handler?.(data.toString()));
  return {
    invoke: (_target, payload) =>
      new Promise((resolve) => {
        handler = (answer) => {
          handler = null;
          resolve(answer);
        };
        ws.send(payload);
      }),
    send: (_target, ...args) => ws.send(args[args.length - 1]),
    on: (_target, h) => {
      handler = h;
    },
    stream(_target, [count], onItem) {
      handler = onItem;
      ws.send(String(count));
      return { cancel: () => ws.close() };
    },
    close: async () => ws.close(),
  };
}

// -- lean SignalR: negotiate, handshake, then hub messages over `ws` --------------

class JsonHub {
  binary = false;
  handshake = JSON.stringify({ protocol: "json", version: 1 }) + RS;
  invocation = (id, target, args) =>
    JSON.stringify(id === null ? { type: 1, target, arguments: args } : { type: 1, invocationId: id, target, arguments: args }) + RS;
  streamInvocation = (id, target, args) => JSON.stringify({ type: 4, invocationId: id, target, arguments: args }) + RS;
  cancel = (id) => JSON.stringify({ type: 5, invocationId: id }) + RS;
  ping = JSON.stringify({ type: 6 }) + RS;

  *parse(data) {
    const text = data.toString();
    let start = 0;
    for (let end = text.indexOf(RS); end !== -1; end = text.indexOf(RS, start)) {
      const m = JSON.parse(text.slice(start, end));
      start = end + 1;
      if (m.type === 3) yield { type: 3, id: m.invocationId, result: m.result, error: m.error };
      else if (m.type === 1) yield { type: 1, target: m.target, args: m.arguments };
      else if (m.type === 2) yield { type: 2, id: m.invocationId, item: m.item };
      else yield { type: m.type, error: m.error };
    }
  }
}

class MessagePackHub {
  binary = true;
  handshake = JSON.stringify({ protocol: "messagepack", version: 1 }) + RS;
  #encoder = new Encoder();
  #decoder = new Decoder();

  #frame(message) {
    const body = this.#encoder.encode(message);
    const prefix = [];
    let n = body.length;
    do {
      let byte = n & 0x7f;
      n >>>= 7;
      if (n > 0) byte |= 0x80;
      prefix.push(byte);
    } while (n > 0);
    const out = Buffer.allocUnsafe(prefix.length + body.length);
    out.set(prefix, 0);
    out.set(body, prefix.length);
    return out;
  }
  invocation = (id, target, args) => this.#frame([1, {}, id, target, args, []]);
  streamInvocation = (id, target, args) => this.#frame([4, {}, id, target, args, []]);
  cancel = (id) => this.#frame([5, {}, id]);
  ping = this.#frame([6]);

  *parse(data) {
    let offset = 0;
    while (offset < data.length) {
      let length = 0;
      let shift = 0;
      let byte;
      do {
        byte = data[offset++];
        length |= (byte & 0x7f) << shift;
        shift += 7;
      } while (byte & 0x80);
      const m = this.#decoder.decode(data.subarray(offset, offset + length));
      offset += length;
      if (m[0] === 3) yield { type: 3, id: m[2], result: m[3] === 3 ? m[4] : null, error: m[3] === 1 ? m[4] : undefined };
      else if (m[0] === 1) yield { type: 1, target: m[3], args: m[4] };
      else if (m[0] === 2) yield { type: 2, id: m[2], item: m[3] };
      else yield { type: m[0], error: m[1] };
    }
  }
}

async function leanSignalR({ url, protocol }) {
  const negotiation = await fetch(`${url}/negotiate?negotiateVersion=1`, { method: "POST" });
  if (!negotiation.ok) throw new Error(`negotiate: HTTP ${negotiation.status}`);
  const { connectionToken, connectionId } = await negotiation.json();
  const hub = protocol === "messagepack" ? new MessagePackHub() : new JsonHub();
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}?id=${encodeURIComponent(connectionToken ?? connectionId)}`);
  await opened(ws);

  const pending = new Map();
  const streams = new Map();
  const handlers = new Map();
  let nextId = 1;
  let handshaken;
  const handshake = new Promise((resolve, reject) => {
    handshaken = { resolve, reject };
  });

  const dispatch = (data) => {
    for (const m of hub.parse(data)) {
      if (m.type === 3) {
        const call = pending.get(m.id);
        if (call) {
          pending.delete(m.id);
          if (m.error) call.reject(new Error(m.error));
          else call.resolve(m.result);
        } else streams.delete(m.id);
      } else if (m.type === 1) handlers.get(m.target.toLowerCase())?.(...m.args);
      else if (m.type === 2) streams.get(m.id)?.(m.item);
      else if (m.type === 7) ws.close();
    }
  };
  ws.on("message", (data, isBinary) => {
    if (handshaken) {
      // The handshake response is JSON ended by a record separator, in either
      // frame type; hub messages may follow it in the same frame.
      const bytes = isBinary ? data : Buffer.from(data);
      const end = bytes.indexOf(0x1e);
      const answer = JSON.parse(bytes.subarray(0, end).toString());
      const { resolve, reject } = handshaken;
      handshaken = null;
      if (answer.error) return reject(new Error(answer.error));
      resolve();
      if (end + 1 < bytes.length) dispatch(hub.binary ? bytes.subarray(end + 1) : bytes.subarray(end + 1).toString());
      return;
    }
    dispatch(data);
  });
  ws.on("error", (error) => handshaken?.reject(error));
  ws.send(hub.handshake);
  await handshake;
  const pinger = setInterval(() => ws.send(hub.ping), PING_INTERVAL_MS);
  pinger.unref();
  ws.on("close", () => {
    clearInterval(pinger);
    for (const call of pending.values()) call.reject(new Error("connection closed"));
    pending.clear();
  });

  return {
    invoke: (target, ...args) =>
      new Promise((resolve, reject) => {
        const id = String(nextId++);
        pending.set(id, { resolve, reject });
        ws.send(hub.invocation(id, target, args));
      }),
    send: (target, ...args) => ws.send(hub.invocation(null, target, args)),
    on: (target, handler) => handlers.set(target.toLowerCase(), handler),
    stream(target, args, onItem) {
      const id = String(nextId++);
      streams.set(id, onItem);
      ws.send(hub.streamInvocation(id, target, args));
      return {
        cancel: () => {
          streams.delete(id);
          if (ws.readyState === WebSocket.OPEN) ws.send(hub.cancel(id));
        },
      };
    },
    close: async () => ws.close(),
  };
}

// -- lean Socket.IO: Engine.IO 4 packets over a WebSocket ---------------------------

async function leanSocketIO({ url }) {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
  // The server speaks first: listen before the open event, whose data may come in the same read.
  const acks = new Map();
  const handlers = new Map();
  let nextId = 0;
  let connected;
  const connection = new Promise((resolve, reject) => {
    connected = { resolve, reject };
  });
  ws.on("message", (data) => {
    const text = data.toString();
    if (text === "2") return ws.send("3"); // Engine.IO ping → pong
    if (text[0] === "0") return ws.send("40"); // Engine.IO open → Socket.IO connect
    if (text.startsWith("40")) return connected.resolve();
    if (text.startsWith("44")) return connected.reject(new Error(text));
    if (text.startsWith("43")) {
      const bracket = text.indexOf("[");
      const id = Number(text.slice(2, bracket));
      const ack = acks.get(id);
      acks.delete(id);
      ack?.(JSON.parse(text.slice(bracket))[0]);
    } else if (text.startsWith("42")) {
      const [event, ...args] = JSON.parse(text.slice(text.indexOf("[")));
      handlers.get(event)?.(...args);
    }
  });
  ws.on("error", (error) => connected.reject(error));
  await opened(ws);
  await connection;
  return {
    invoke: (target, ...args) =>
      new Promise((resolve) => {
        const id = nextId++;
        acks.set(id, resolve);
        ws.send(`42${id}${JSON.stringify([snake(target), ...args])}`);
      }),
    send: (target, ...args) => ws.send(`42${JSON.stringify([snake(target), ...args])}`),
    on: (target, handler) => handlers.set(snake(target), handler),
    stream() {
      throw new Error("Socket.IO has no streams");
    },
    close: async () => ws.close(),
  };
}

// -- shared by the scenario scripts -------------------------------------------------

export function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) if (argv[i].startsWith("--")) args[argv[i].slice(2)] = argv[i + 1];
  return args;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The harness samples both processes' CPU time from /proc when it reads these.
export const mark = (event, extra = {}) => console.log(JSON.stringify({ event, ...extra }));

/** The measured window every load script shares: the warm-up, then "start",
 *  `measuring(true)`, the duration, `measuring(false)`, "stop". Returns the
 *  measured seconds. */
export async function measureWindow(args, measuring) {
  await sleep(Number(args.warmup ?? 1) * 1000);
  mark("start");
  const t0 = process.hrtime.bigint();
  measuring(true);
  await sleep(Number(args.duration ?? 5) * 1000);
  measuring(false);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  mark("stop");
  return seconds;
}

export function percentile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
}

// Opens `count` connections, `parallel` at a time, in order.
export async function connectMany(count, parallel, options) {
  const clients = new Array(count);
  let next = 0;
  async function worker() {
    while (next < count) {
      const i = next++;
      clients[i] = await connect(typeof options === "function" ? options(i) : options);
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return clients;
}
