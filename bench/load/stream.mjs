// One server-to-client stream of small items (Counter(n), n large), counted for
// D seconds after a warm-up, then cancelled.
//   node stream.mjs --kind signalr|ws --client C --url URL [--protocol P] [--duration 5] [--warmup 1]
import { connect, mark, measureWindow, parseArgs } from "./clients.mjs";

const args = parseArgs(process.argv.slice(2));
const client = await connect({ ...args });
let measuring = false;
let items = 0;
let last = -1;
const stream = client.stream("Counter", [2 ** 31 - 1], (item) => {
  const value = Number(item);
  if (value !== last + 1) throw new Error(`stream out of order: ${value} after ${last}`);
  last = value;
  if (measuring) items++;
});
const seconds = await measureWindow(args, (on) => {
  measuring = on;
});
mark("result", { count: items, seconds, rate: items / seconds, p50_ms: null, p99_ms: null });
// The harness may stop this process from here on: cleanup is best effort.
stream.cancel();
await client.close();
process.exit(0);
