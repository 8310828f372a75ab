// The official @microsoft/signalr client as one participant of a scale-out
// test, driven line by line (tests/e2e/test_scale_out.py): it connects to one
// server process as a user, prints {"id": connectionId}, then prints every
// Message push it receives as {"message": text}, answers Ask client results
// with 42, and runs the commands it reads on stdin (JSON lines: {"invoke":
// target, "args": [...]}, or "stop").
// Usage: node scale-out-client.mjs <hubUrl> <token> <transport> <protocol>
import * as readline from "node:readline";
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

const [url, token, transportName, protocolName] = process.argv.slice(2);
let builder = new signalR.HubConnectionBuilder()
  .withUrl(url, { transport: signalR.HttpTransportType[transportName], accessTokenFactory: () => token })
  .configureLogging(signalR.LogLevel.None);
if (protocolName === "messagepack") builder = builder.withHubProtocol(new MessagePackHubProtocol());
const connection = builder.build();
const say = (value) => process.stdout.write(JSON.stringify(value) + "\n");

connection.on("Message", (text) => say({ message: text }));
connection.on("Ask", () => 42);
await connection.start();
say({ id: connection.connectionId });

for await (const line of readline.createInterface({ input: process.stdin })) {
  if (line === "stop") break;
  const command = JSON.parse(line);
  try {
    say({ result: await connection.invoke(command.invoke, ...command.args) ?? null });
  } catch (error) {
    say({ error: String(error.message) });
  }
}
await connection.stop();
process.exit(0); // stdin would keep Node running
