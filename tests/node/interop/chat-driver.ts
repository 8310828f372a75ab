// Uses the chat example's generated TypeScript client on top of the official
// @microsoft/signalr HubConnection. Prints one JSON event per line on stdout so
// a test can follow along; reads commands ("send <text>", "whisper <user>
// <text>", "quit", ...) from stdin. It connects with an access token from the
// chat server's /login (the test signs in for it), as accessTokenFactory.
// Usage: node chat-driver.js <hubUrl> <accessToken> <room>
import * as signalR from "@microsoft/signalr";
import { createInterface } from "node:readline";

import {
  type ChatMessage,
  createChatHub,
  json,
  type PrivateMessage,
  registerChatClient,
} from "./generated/index.js";

const [url, token, room] = process.argv.slice(2) as [string, string, string];

function emit(event: string, data: unknown): void {
  process.stdout.write(JSON.stringify({ event, data }) + "\n");
}

const connection = new signalR.HubConnectionBuilder()
  .withUrl(url, { transport: signalR.HttpTransportType.WebSockets, accessTokenFactory: () => token })
  .configureLogging(signalR.LogLevel.Warning)
  .build();
// a connection of our own: wrapping it says which protocol it uses (the
// official client's default, JSON)
const chat = createChatHub(connection, { protocol: json });
const registration = registerChatClient(
  connection,
  {
    messageReceived: (message: ChatMessage) => emit("messageReceived", message),
    privateMessageReceived: (message: PrivateMessage) => emit("privateMessageReceived", message),
    userJoined: (joinedRoom: string, who: string) => emit("userJoined", { room: joinedRoom, user: who }),
  },
  { protocol: json },
);

await connection.start();
const history = await chat.join(room);
emit("joined", { history, connectionId: connection.connectionId });

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [command, ...rest] = line.split(" ");
  if (command === "send") {
    const sent = await chat.send(room, rest.join(" "));
    emit("sent", sent);
  } else if (command === "whisper") {
    const [to, ...words] = rest;
    try {
      emit("whispered", await chat.sendPrivate(to ?? "", words.join(" ")));
    } catch (err) {
      emit("error", String((err as Error).message));
    }
  } else if (command === "history") {
    emit("history", await chat.history(room, 2));
  } else if (command === "members") {
    emit("members", await chat.members(room));
  } else if (command === "unregister") {
    registration.dispose();
    emit("unregistered", null);
  } else if (command === "bad") {
    try {
      await chat.send("no-such-room", "x");
      emit("error", null);
    } catch (err) {
      emit("error", String((err as Error).message));
    }
  } else if (command === "quit") {
    break;
  }
}
await connection.stop();
emit("stopped", null);
process.exit(0);
