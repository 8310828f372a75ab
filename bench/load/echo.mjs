// Closed-loop echo: N connections, each invokes Echo(payload) and waits for the
// answer, for D seconds after a warm-up. Prints JSON lines: {"event":"start"},
// {"event":"stop"}, then the result.
//   node echo.mjs --kind signalr|socketio|ws --client official|lean --url URL
//                 [--protocol json|messagepack] [--transport WebSockets|ServerSentEvents|LongPolling]
//                 [--connections 50] [--duration 5] [--warmup 1] [--payload 32]
import { connectMany, mark, measureWindow, parseArgs, percentile } from "./clients.mjs";

const args = parseArgs(process.argv.slice(2));
const connections = Number(args.connections ?? 50);
const payload = "x".repeat(Number(args.payload ?? 32));
const clients = await connectMany(connections, 50, { ...args });

const latencies = [];
let measuring = false;
let stop = false;
async function loop(client) {
  while (!stop) {
    const start = process.hrtime.bigint();
    const answer = await client.invoke("Echo", payload);
    if (answer.length !== payload.length) throw new Error(`wrong echo: ${answer}`);
    if (measuring) latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
}
const loops = clients.map(loop);
const seconds = await measureWindow(args, (on) => {
  measuring = on;
});
latencies.sort((a, b) => a - b);
mark("result", {
  count: latencies.length,
  seconds,
  rate: latencies.length / seconds,
  p50_ms: percentile(latencies, 0.5),
  p99_ms: percentile(latencies, 0.99),
});
// The harness may stop this process from here on: cleanup is best effort.
stop = true;
await Promise.all(loops);
await Promise.all(clients.map((c) => c.close()));

process.exit(0);
