// Idle density: opens --warm connections and says so ({"event":"warm","paused":true}),
// waits for the harness to read the server's memory and answer "go" on stdin,
// then opens --connections more and says so ({"event":"ready"}), and holds them
// all (answering keep-alive pings) until the harness stops this process.
//   node idle.mjs --kind K --client C --url URL [--protocol P] [--warm 50] [--connections 5000]
import { createInterface } from "node:readline";
import { connectMany, mark, parseArgs } from "./clients.mjs";

const args = parseArgs(process.argv.slice(2));
const options = { ...args };
const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
const held = [await connectMany(Number(args.warm ?? 50), 50, options)];
mark("warm", { paused: true });
// Without this pause the next connections would open while the harness waits
// for the server to settle, and count as part of the baseline.
await lines.next();
input.close();
held.push(await connectMany(Number(args.connections ?? 5000), Number(args.parallel ?? 100), options));
mark("ready", { connections: held[1].length });
process.on("SIGTERM", () => process.exit(0));
setInterval(() => {}, 1 << 30);
