// Drives the official @microsoft/signalr client against a hub that requires
// a user (tests/apps/echo/secure.py) and prints what it observed as one JSON
// object; tests/interop/test_official_client_auth.py holds the expectations.
// Usage: node auth-client.mjs <hubUrl> <transport> <protocol>
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

const [url, transportName, protocolName] = process.argv.slice(2);
const transport = signalR.HttpTransportType[transportName];

function connect(token) {
  const options = { transport };
  if (token !== undefined) options.accessTokenFactory = () => token;
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(url, options)
    .configureLogging(signalR.LogLevel.None);
  if (protocolName === "messagepack") builder = builder.withHubProtocol(new MessagePackHubProtocol());
  return builder.build();
}

async function errorOf(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    return { message: String(err.message), statusCode: err.statusCode ?? null };
  }
}

function nextCall(connection, name, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} within ${timeoutMs}ms`)), timeoutMs);
    connection.on(name, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

const out = {};
out.withoutToken = await errorOf(connect().start());
out.invalidToken = await errorOf(connect("invalid").start());

const alice = connect("alice");
await alice.start();
out.userName = await alice.invoke("UserName");
out.unauthorized = await errorOf(alice.invoke("Add", 1, 2));
out.aliveAfter = await alice.invoke("Echo", "alive");
out.stateAfter = alice.state;

const bob = connect("bob;math");
await bob.start();
out.allowed = await bob.invoke("Add", 1, 2);
const bobAgain = connect("bob");
await bobAgain.start();
const first = nextCall(bob, "Message");
const second = nextCall(bobAgain, "Message");
await alice.invoke("SendUser", "bob", "hello bob");
out.toBothOfBobs = [await first, await second];

await Promise.all([alice.stop(), bob.stop(), bobAgain.stop()]);
console.log(JSON.stringify(out));
