// The chat page: the generated @hubgen-example/chat-client package on the
// official @microsoft/signalr client, in the browser.
//
// Open /?user=ann&room=lobby to join straight away; protocol=messagepack and
// transport=longpolling (or serversentevents) choose how it talks to the hub.
import { HttpTransportType, LogLevel } from "@microsoft/signalr";
import {
  type ChatHub,
  type ChatMessage,
  createChatHub,
  type HubProtocolChoice,
  json,
  type Wire,
} from "@hubgen-example/chat-client";
import { messagePack } from "@hubgen-example/chat-client/messagepack";

const TRANSPORTS = {
  websockets: HttpTransportType.WebSockets,
  serversentevents: HttpTransportType.ServerSentEvents,
  longpolling: HttpTransportType.LongPolling,
} as const;
type TransportName = keyof typeof TRANSPORTS;
type ProtocolName = "json" | "messagepack";

interface Settings {
  user: string;
  room: string;
  protocol: ProtocolName;
  transport: TransportName;
}

function byId<T extends HTMLElement>(id: string, kind: { new (): T; prototype: T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof kind)) {
    throw new Error(`the page has no #${id}`);
  }
  return found;
}

const joinForm = byId("join", HTMLFormElement);
const room = byId("room", HTMLElement);
const title = byId("title", HTMLElement);
const status = byId("status", HTMLElement);
const messages = byId("messages", HTMLOListElement);
const members = byId("members", HTMLUListElement);
const compose = byId("compose", HTMLFormElement);
const text = byId("text", HTMLInputElement);

function setState(state: string, detail: string): void {
  document.body.dataset["state"] = state;
  status.textContent = detail;
}

function field(form: HTMLFormElement, name: string): string {
  const value = new FormData(form).get(name);
  return typeof value === "string" ? value.trim() : "";
}

function isTransport(name: string): name is TransportName {
  return Object.hasOwn(TRANSPORTS, name);
}

function settingsFrom(get: (name: string) => string | null): Settings | undefined {
  const user = get("user")?.trim() ?? "";
  const roomName = get("room")?.trim() || "lobby";
  const protocol = get("protocol") === "messagepack" ? "messagepack" : "json";
  const transport = get("transport") ?? "websockets";
  if (!user || !isTransport(transport)) {
    return undefined;
  }
  return { user, room: roomName, protocol, transport };
}

function time(sentAt: string | Date): string {
  return new Date(sentAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function append(item: HTMLLIElement): void {
  messages.append(item);
  item.scrollIntoView({ block: "end" });
}

function showMessage(message: ChatMessage<Wire>, self: string): void {
  if (messages.querySelector(`[data-id="${CSS.escape(message.id)}"]`) !== null) {
    return; // already shown (history and a push can overlap)
  }
  const item = document.createElement("li");
  item.className = message.author === self ? "message mine" : "message";
  item.dataset["id"] = message.id;
  item.dataset["author"] = message.author;
  // JSON delivers datetimes as strings, MessagePack as Date objects (MessagePackWire)
  item.dataset["sentAtType"] = message.sentAt instanceof Date ? "Date" : typeof message.sentAt;
  const when = document.createElement("time");
  when.dateTime = new Date(message.sentAt).toISOString();
  when.textContent = time(message.sentAt);
  const author = document.createElement("b");
  author.textContent = message.author;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = message.text;
  item.append(when, author, body);
  append(item);
}

function showNotice(line: string): void {
  const item = document.createElement("li");
  item.className = "notice";
  item.textContent = line;
  append(item);
}

function showMembers(names: string[]): void {
  members.replaceChildren(
    ...names.map((name) => {
      const item = document.createElement("li");
      item.textContent = name;
      return item;
    }),
  );
}

/** Joins with `protocol`; generic in the wire types the protocol implies. */
async function enter<W extends Wire>(settings: Settings, protocol: HubProtocolChoice<W>): Promise<void> {
  const chat: ChatHub<W> = createChatHub("/chat", {
    protocol,
    transport: TRANSPORTS[settings.transport],
    reconnect: true,
    logger: LogLevel.Warning,
  });
  const refreshMembers = async (): Promise<void> => showMembers(await chat.members(settings.room));
  chat.register({
    messageReceived: (message) => showMessage(message, settings.user),
    userJoined: (_room, user) => {
      showNotice(`${user} joined`);
      void refreshMembers();
    },
    userLeft: (_room, user) => {
      showNotice(`${user} left`);
      void refreshMembers();
    },
  });
  const join = async (): Promise<void> => {
    for (const message of await chat.join(settings.room, settings.user)) {
      showMessage(message, settings.user);
    }
    await refreshMembers();
    setState("joined", `${settings.user} in #${settings.room} · ${protocol.name} over ${settings.transport}`);
  };
  chat.connection.onreconnecting(() => setState("reconnecting", "connection lost; reconnecting…"));
  chat.connection.onreconnected(() => void join());
  chat.connection.onclose(() => setState("closed", "disconnected; reload the page to join again"));

  title.textContent = `#${settings.room}`;
  joinForm.hidden = true;
  room.hidden = false;
  setState("connecting", "connecting…");
  await chat.connection.start();
  await join();

  compose.addEventListener("submit", (event) => {
    event.preventDefault();
    const line = text.value.trim();
    if (!line) {
      return;
    }
    text.value = "";
    chat.send(settings.room, line).catch((error: unknown) => {
      showNotice(error instanceof Error ? error.message : String(error));
    });
  });
  text.focus();
}

function start(settings: Settings): void {
  const entered =
    settings.protocol === "messagepack" ? enter(settings, messagePack) : enter(settings, json);
  entered.catch((error: unknown) => {
    setState("failed", error instanceof Error ? error.message : String(error));
  });
}

const params = new URLSearchParams(location.search);
const fromUrl = settingsFrom((name) => params.get(name));
if (fromUrl !== undefined) {
  start(fromUrl);
} else {
  setState("ready", "choose a name and a room");
  joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = settingsFrom((name) => field(joinForm, name));
    if (chosen !== undefined) {
      start(chosen);
    }
  });
}
