// The official @microsoft/signalr client with stateful reconnect, against a
// hubgen echo hub behind a proxy that drops the connection again and again
// (tests/interop/test_stateful_reconnect.py): it streams `count` numbered
// items from the server while it sends `count` numbered calls, then prints
// what it received and what the server recorded, as one JSON object.
// Usage: node stateful-client.mjs <hubUrl> <protocol> <count>
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

const [url, protocolName, countText] = process.argv.slice(2);
const count = Number(countText);
let builder = new signalR.HubConnectionBuilder()
  .withUrl(url, { transport: signalR.HttpTransportType.WebSockets })
  .withStatefulReconnect({ bufferSize: 1_000_000 })
  .configureLogging(signalR.LogLevel.None);
if (protocolName === "messagepack") builder = builder.withHubProtocol(new MessagePackHubProtocol());
const connection = builder.build();
let closed = null;
connection.onclose((error) => { closed = String(error ?? "closed"); });
await connection.start();
const connectionId = connection.connectionId;
console.log(JSON.stringify({ started: connectionId })); // the proxy may start dropping now

const received = [];
const streamed = new Promise((resolve, reject) => {
  connection.stream("Counter", count, 0).subscribe({
    next: (item) => received.push(item),
    complete: resolve,
    error: reject,
  });
});
for (let n = 0; n < count; n++) {
  await connection.send("Record", n);
}
await streamed;
const recorded = await connection.invoke("Recorded");
const sameConnection = (await connection.invoke("Whoami")) === connectionId;
await connection.stop();
console.log(JSON.stringify({ received, recorded, sameConnection, closed }));
