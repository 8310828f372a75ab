// The chat page: the generated @hubgen-example/chat-client package on the
// official @microsoft/signalr client, in the browser.
//
// Sign in with a name and the server's passphrase: POST /login answers with a
// short-lived token, which the page keeps in memory only (never in storage or
// the URL bar) and hands the connection through `accessTokenFactory`. The
// server takes every author from that token. `/msg name text` writes to one
// user: every tab of theirs and of yours shows it, marked private.
//
// The query string fills the form: /?user=ann&room=lobby&protocol=messagepack
// &transport=longpolling (or serversentevents) choose how it talks to the hub.
import { HttpTransportType, LogLevel } from "@microsoft/signalr";
import {
  type ChatHub,
  type ChatMessage,
  createChatHub,
  type HubProtocolChoice,
  json,
  type PrivateMessage,
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
  room: string;
  protocol: ProtocolName;
  transport: TransportName;
}

/** Who is signed in, and the token that says so (in memory only). */
interface SignedIn {
  user: string;
  token: string;
}

/** What the compose box sends through, for the connection in use. */
interface Session {
  send(text: string): Promise<unknown>;
  sendPrivate(to: string, text: string): Promise<unknown>;
}

function byId<T extends HTMLElement>(id: string, kind: { new (): T; prototype: T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof kind)) {
    throw new Error(`the page has no #${id}`);
  }
  return found;
}

const signinForm = byId("signin", HTMLFormElement);
const signinError = byId("signin-error", HTMLElement);
const room = byId("room", HTMLElement);
const title = byId("title", HTMLElement);
const status = byId("status", HTMLElement);
const messages = byId("messages", HTMLOListElement);
const members = byId("members", HTMLUListElement);
const compose = byId("compose", HTMLFormElement);
const text = byId("text", HTMLInputElement);

let session: Session | undefined;

function setState(state: string, detail: string): void {
  document.body.dataset["state"] = state;
  status.textContent = detail;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function field(name: string): string {
  const value = new FormData(signinForm).get(name);
  return typeof value === "string" ? value.trim() : "";
}

function isTransport(name: string): name is TransportName {
  return Object.hasOwn(TRANSPORTS, name);
}

function settingsFromForm(): Settings {
  const transport = field("transport");
  return {
    room: field("room") || "lobby",
    protocol: field("protocol") === "messagepack" ? "messagepack" : "json",
    transport: isTransport(transport) ? transport : "websockets",
  };
}

/** Fills the sign-in form from the query string (never the passphrase). */
function prefill(params: URLSearchParams): void {
  for (const name of ["user", "room", "protocol", "transport"]) {
    const value = params.get(name);
    const input = signinForm.elements.namedItem(name);
    if (value !== null && (input instanceof HTMLInputElement || input instanceof HTMLSelectElement)) {
      input.value = value;
    }
  }
}

/** POST /login: a token for `name`, or an Error saying why not. */
async function signIn(name: string, passphrase: string): Promise<SignedIn> {
  const response = await fetch("/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, passphrase }),
  });
  const body: unknown = await response.json().catch(() => null);
  const answer = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  if (!response.ok) {
    const reason = typeof answer["error"] === "string" ? answer["error"] : response.statusText;
    throw new Error(`sign-in refused: ${reason}`);
  }
  const token = answer["access_token"];
  const user = answer["user"];
  if (typeof token !== "string" || typeof user !== "string") {
    throw new Error("sign-in failed: the server's answer has no token");
  }
  return { user, token };
}

function time(sentAt: string | Date): string {
  return new Date(sentAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function append(item: HTMLLIElement): void {
  messages.append(item);
  item.scrollIntoView({ block: "end" });
}

/** A message line: time, author, (recipient,) text; once per id (history,
 * pushes and return values overlap). */
function messageItem(
  message: ChatMessage<Wire> | PrivateMessage<Wire>,
  self: string,
): HTMLLIElement | undefined {
  if (messages.querySelector(`[data-id="${CSS.escape(message.id)}"]`) !== null) {
    return undefined;
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
  author.className = "author";
  author.textContent = message.author;
  item.append(when, author);
  return item;
}

function withText(item: HTMLLIElement, message: { text: string }): HTMLLIElement {
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = message.text;
  item.append(body);
  return item;
}

function showMessage(message: ChatMessage<Wire>, self: string): void {
  const item = messageItem(message, self);
  if (item !== undefined) {
    append(withText(item, message));
  }
}

function showPrivate(message: PrivateMessage<Wire>, self: string): void {
  const item = messageItem(message, self);
  if (item === undefined) {
    return;
  }
  item.classList.add("private");
  item.dataset["recipient"] = message.recipient;
  const to = document.createElement("span");
  to.className = "recipient";
  to.textContent = `→ ${message.recipient === self ? "you" : message.recipient} · private`;
  item.append(to);
  append(withText(item, message));
}

function showNotice(line: string): void {
  const item = document.createElement("li");
  item.className = "notice";
  item.textContent = line;
  append(item);
}

/** The room's members; choosing one starts a private message to them. */
function showMembers(names: string[], self: string): void {
  members.replaceChildren(
    ...names.map((name) => {
      const item = document.createElement("li");
      if (name === self) {
        item.textContent = `${name} (you)`;
        return item;
      }
      const write = document.createElement("button");
      write.type = "button";
      write.textContent = name;
      write.title = `Send ${name} a private message`;
      write.addEventListener("click", () => {
        text.value = `/msg ${name} `;
        text.focus();
      });
      item.append(write);
      return item;
    }),
  );
}

function signedOut(reason: string): void {
  session = undefined;
  room.hidden = true;
  signinForm.hidden = false;
  setState("signed-out", reason);
}

/** Connects with `protocol` as `me` and joins; generic in the wire types the protocol implies. */
async function enter<W extends Wire>(
  me: SignedIn,
  settings: Settings,
  protocol: HubProtocolChoice<W>,
): Promise<void> {
  const chat: ChatHub<W> = createChatHub("/chat", {
    protocol,
    transport: TRANSPORTS[settings.transport],
    // asked for on every negotiate and (re)connect: the token in memory
    accessTokenFactory: () => me.token,
    reconnect: true,
    logger: LogLevel.Warning,
  });
  const refreshMembers = async (): Promise<void> =>
    showMembers(await chat.members(settings.room), me.user);
  chat.register({
    messageReceived: (message) => showMessage(message, me.user),
    privateMessageReceived: (message) => showPrivate(message, me.user),
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
    for (const message of await chat.join(settings.room)) {
      showMessage(message, me.user);
    }
    await refreshMembers();
    setState("joined", `${me.user} in #${settings.room} · ${protocol.name} over ${settings.transport}`);
  };
  chat.connection.onreconnecting(() => setState("reconnecting", "connection lost; reconnecting…"));
  chat.connection.onreconnected(() => void join());
  // also when the token expired and reconnecting was refused
  chat.connection.onclose(() => signedOut("disconnected; sign in again"));

  title.textContent = `#${settings.room}`;
  messages.replaceChildren();
  signinForm.hidden = true;
  room.hidden = false;
  setState("connecting", "connecting…");
  await chat.connection.start();
  try {
    await join();
  } catch (error) {
    await chat.connection.stop();
    throw error;
  }
  session = {
    send: (line) => chat.send(settings.room, line).then((sent) => showMessage(sent, me.user)),
    sendPrivate: (to, line) =>
      chat.sendPrivate(to, line).then((sent) => showPrivate(sent, me.user)),
  };
  text.focus();
}

compose.addEventListener("submit", (event) => {
  event.preventDefault();
  const line = text.value.trim();
  if (!line || session === undefined) {
    return;
  }
  let sending: Promise<unknown>;
  if (line === "/msg" || line.startsWith("/msg ")) {
    const parts = /^\/msg\s+(\S+)\s+(.+)$/s.exec(line);
    if (parts === null) {
      showNotice("to write to one person: /msg name text");
      return;
    }
    sending = session.sendPrivate(parts[1] ?? "", parts[2] ?? "");
  } else {
    sending = session.send(line);
  }
  text.value = "";
  sending.catch((error: unknown) => showNotice(errorText(error)));
});

signinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const settings = settingsFromForm();
  const passphraseInput = signinForm.elements.namedItem("passphrase");
  signinError.textContent = "";
  setState("signing-in", "signing in…");
  signIn(field("user"), field("passphrase"))
    .then((me) => {
      // the passphrase is not needed again: do not keep it in the form
      if (passphraseInput instanceof HTMLInputElement) {
        passphraseInput.value = "";
      }
      return settings.protocol === "messagepack"
        ? enter(me, settings, messagePack)
        : enter(me, settings, json);
    })
    .catch((error: unknown) => {
      signinError.textContent = errorText(error);
      signedOut("not signed in");
    });
});

prefill(new URLSearchParams(location.search));
signinForm.hidden = false;
setState("ready", "sign in to chat");
