// Fan-out: every connection listens for Received(payload). Broadcast mode (no
// --group-size): connection 0 sends Broadcast(payload) to everyone. Group mode:
// connections form groups of --group-size; the first member of each group sends
// SendToGroup(group, payload) to its group. Each sender keeps at most --window
// messages in flight (a message is done once every addressee has it). Counts
// deliveries per second and the delay from send to each delivery.
// --url may list several servers, separated by commas (processes of one hub
// on a backplane): connection i connects to the (i mod n)th, so the sender
// (connection 0) is on the first and the receivers are split evenly.
//   node fanout.mjs --kind K --client C --url URL[,URL...] [--protocol P] --connections N
//                   [--group-size 10] [--window 4] [--duration 5] [--warmup 1] [--payload 32]
import { connectMany, mark, measureWindow, parseArgs, percentile, sleep } from "./clients.mjs";

const args = parseArgs(process.argv.slice(2));
const connections = Number(args.connections ?? 200);
const groupSize = Number(args["group-size"] ?? 0);
const window = Number(args.window ?? 4);
const padding = "x".repeat(Number(args.payload ?? 32));
const groupOf = (i) => (groupSize ? `g${Math.floor(i / groupSize)}` : null);
const urls = String(args.url).split(",");
// The raw WebSocket server has a route per scenario and takes the group from the query.
const options = (i) => {
  const url = urls[i % urls.length];
  return { ...args, url: args.kind === "ws" && groupSize ? `${url}?g=${groupOf(i)}` : url };
};
const clients = await connectMany(connections, 50, options);

const inflight = new Map(); // seq → { sentAt, remaining, sender }
let measuring = false;
let delivered = 0;
const latencies = [];
function onReceived(payload) {
  const seq = parseInt(payload, 10);
  const message = inflight.get(seq);
  if (!message) return;
  if (measuring) {
    delivered++;
    latencies.push(Number(process.hrtime.bigint() - message.sentAt) / 1e6);
  }
  if (--message.remaining === 0) {
    inflight.delete(seq);
    message.sender.done();
  }
}
for (const client of clients) client.on("Received", onReceived);
if (groupSize && args.kind !== "ws") await Promise.all(clients.map((c, i) => c.invoke("Join", groupOf(i))));

let seq = 0;
let stop = false;
function sender(client, i) {
  const group = groupOf(i);
  const audience = groupSize ? Math.min(groupSize, connections - i) : connections;
  let outstanding = 0;
  let wake = null;
  const state = {
    done() {
      outstanding--;
      wake?.();
    },
  };
  return (async () => {
    while (!stop) {
      if (outstanding >= window) {
        await new Promise((resolve) => {
          wake = resolve;
        });
        wake = null;
        continue;
      }
      const n = seq++;
      outstanding++;
      inflight.set(n, { sentAt: process.hrtime.bigint(), remaining: audience, sender: state });
      const payload = `${n} ${padding}`;
      if (group) client.send("SendToGroup", group, payload);
      else client.send("Broadcast", payload);
      if (outstanding < window) await null; // let receipts run between sends
    }
  })();
}
const senders = clients.flatMap((c, i) => (groupSize ? (i % groupSize === 0 ? [sender(c, i)] : []) : i === 0 ? [sender(c, i)] : []));

const seconds = await measureWindow(args, (on) => {
  measuring = on;
});
latencies.sort((a, b) => a - b);
mark("result", {
  count: delivered,
  seconds,
  rate: delivered / seconds,
  p50_ms: percentile(latencies, 0.5),
  p99_ms: percentile(latencies, 0.99),
  senders: senders.length,
});
// The harness may stop this process from here on: cleanup is best effort.
stop = true;
for (const message of inflight.values()) message.sender.done();
await Promise.race([Promise.all(senders), sleep(1000)]);
await Promise.all(clients.map((c) => c.close()));

process.exit(0);
