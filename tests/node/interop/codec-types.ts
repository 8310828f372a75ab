// Do the generated TypeScript types describe what actually arrives? Compiled by
// tsc (strict, with the echo hub's generated client: tests/support/tsnode.py),
// then run against a hubgen server over one transport and protocol.
//
// For each protocol, `declared` lists the kinds of value the generated types
// allow for every field of Sample and Item and for the wire-dependent results;
// tsc proves those lists equal what the types say (see `Same`), and at run
// time the driver compares them with the kinds that arrive. Direct assignments
// (with @ts-expect-error for the other protocol's forms) show the same per field.
//
// The hub object is created from the URL, or (with `connection`) over a
// HubConnection built here with the official builder, wrapped with the protocol
// it uses; either way the wire types follow from the protocol.
//
// Usage: node codec-types.js <hubUrl> <transport> <protocol> <url|connection>;
// prints one JSON object.
import {
  type HubConnection,
  HttpTransportType,
  HubConnectionBuilder,
  type IHubProtocol,
  JsonHubProtocol,
} from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

import {
  createEchoHub,
  json,
  type EchoHub,
  type Item,
  type JsonWire,
  type MessagePackWire,
  type Sample,
  type SampleInput,
  type Wire,
} from "./generated/index.js";
import { messagePack } from "./generated/messagepack.js";

type Kind = "Date" | "Uint8Array" | "string" | "number" | "boolean" | "null" | "array" | "object";

/** The kinds a TypeScript type admits (a union gives several). */
type KindOf<T> = T extends Date
  ? "Date"
  : T extends Uint8Array
    ? "Uint8Array"
    : T extends string
      ? "string"
      : T extends number
        ? "number"
        : T extends boolean
          ? "boolean"
          : T extends null
            ? "null"
            : T extends readonly unknown[]
              ? "array"
              : T extends object
                ? "object"
                : never;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type AllTrue<C> = C[keyof C] extends true ? true : false;

/** A kinds table for the fields of model M: every field, nothing else. */
type Table<M> = { readonly [K in keyof M]-?: readonly Kind[] };
/** true when each field's listed kinds are exactly those its type admits. */
type Matches<M, D extends Table<M>> = AllTrue<{
  [K in keyof M]-?: Same<KindOf<M[K]>, D[K][number]>;
}>;

type Results<W extends Wire> = {
  echoBlob: Awaited<ReturnType<EchoHub<W>["echoBlob"]>>;
  echoWhen: Awaited<ReturnType<EchoHub<W>["echoWhen"]>>;
  echoBig: Awaited<ReturnType<EchoHub<W>["echoBig"]>>;
};

interface Declared {
  sample: Table<Sample>;
  item: Table<Item>;
  results: Table<Results<Wire>>;
}

const jsonDeclared = {
  sample: {
    aware: ["string"],
    naive: ["string"],
    day: ["string"],
    clock: ["string"],
    span: ["string"],
    blob: ["string"],
    amount: ["string"],
    ident: ["string"],
    priority: ["number"],
    color: ["string"],
    big: ["number"],
    nullable: ["string", "null"],
    defaulted: ["string"],
    optional: ["number", "null"],
    nick_name: ["string"],
    tag: ["object"],
    tags: ["array"],
    tagMap: ["object"],
  },
  item: {
    name: ["string"],
    quantity: ["number"],
    tags: ["array"],
    color: ["string"],
    createdAt: ["string", "null"],
    payload: ["string"],
  },
  results: { echoBlob: ["string"], echoWhen: ["string"], echoBig: ["number"] },
} as const satisfies Declared;

const messagePackDeclared = {
  ...jsonDeclared,
  sample: { ...jsonDeclared.sample, aware: ["Date"], naive: ["Date"], blob: ["Uint8Array"] },
  item: { ...jsonDeclared.item, createdAt: ["Date", "null"], payload: ["Uint8Array"] },
  results: { ...jsonDeclared.results, echoBlob: ["Uint8Array"], echoWhen: ["Date"] },
} as const satisfies Declared;

// tsc checks these: each table says exactly what the generated types say.
const jsonTablesMatch: [
  Matches<Sample<JsonWire>, typeof jsonDeclared.sample>,
  Matches<Item<JsonWire>, typeof jsonDeclared.item>,
  Matches<Results<JsonWire>, typeof jsonDeclared.results>,
] = [true, true, true];
const messagePackTablesMatch: [
  Matches<Sample<MessagePackWire>, typeof messagePackDeclared.sample>,
  Matches<Item<MessagePackWire>, typeof messagePackDeclared.item>,
  Matches<Results<MessagePackWire>, typeof messagePackDeclared.results>,
] = [true, true, true];

function expectType<T>(value: T): T {
  return value;
}

function kindOf(value: unknown): string {
  if (value instanceof Date) return "Date";
  if (value instanceof Uint8Array) return "Uint8Array";
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value; // "bigint" or "undefined" would show up as a mismatch
}

/** Fields whose arriving kind the declared table does not admit. */
function mismatches(values: object, declared: Record<string, readonly Kind[]>): string[] {
  const found: string[] = [];
  for (const [key, kinds] of Object.entries(declared)) {
    const actual = kindOf((values as Record<string, unknown>)[key]);
    if (!(kinds as readonly string[]).includes(actual)) {
      found.push(`${key}: declared ${kinds.join(" | ")}, arrived ${actual}`);
    }
  }
  for (const key of Object.keys(values)) {
    if (!(key in declared)) found.push(`${key}: arrived, not declared`);
  }
  return found;
}

async function observe<W extends Wire>(
  hub: EchoHub<W>,
  declared: Declared,
  built: SampleInput<W>,
  blob: W["bytes"],
  when: W["datetime"],
): Promise<Record<string, unknown>> {
  try {
    const sample = await hub.makeSample();
    const echoed = await hub.echoSample(built);
    const item = await hub.echoItem({ name: "n", createdAt: when, payload: blob });
    const bare = await hub.echoItem({ name: "bare" }); // createdAt null, payload empty
    const results = {
      echoBlob: await hub.echoBlob(blob),
      echoWhen: await hub.echoWhen(when),
      echoBig: await hub.echoBig(2 ** 53 + 2),
    };
    return {
      sample: mismatches(sample, declared.sample),
      echoed: mismatches(echoed, declared.sample),
      item: mismatches(item, declared.item),
      bare: mismatches(bare, declared.item),
      results: mismatches(results, declared.results),
      bound: await hub.describeSample(built),
      kinds: Object.fromEntries(Object.entries(sample).map(([k, v]) => [k, kindOf(v)])),
    };
  } finally {
    await hub.connection.stop();
  }
}

const common: Omit<SampleInput, "aware" | "naive" | "blob"> = {
  day: "2024-02-29",
  clock: "23:59:58.000005",
  span: "P1DT2H3.0005S",
  amount: "1234567890.0123456789",
  ident: "12345678-1234-5678-1234-567812345678",
  priority: 2,
  color: "green",
  big: 2 ** 53 + 2,
  nullable: null,
  tag: { label: "one" },
  tags: [{ label: "two", weight: 2 }],
  tagMap: { four: { label: "four", weight: 4 } },
};

/** A connection as an application builds one with the official client. */
function build(url: string, transport: HttpTransportType, protocol: IHubProtocol): HubConnection {
  return new HubConnectionBuilder().withUrl(url, { transport }).withHubProtocol(protocol).build();
}

async function overJson(
  url: string,
  transport: HttpTransportType,
  wrap: boolean,
): Promise<Record<string, unknown>> {
  const hub = wrap
    ? createEchoHub(build(url, transport, new JsonHubProtocol()), { protocol: json })
    : createEchoHub(url, { transport, protocol: json });
  await hub.connection.start();
  const sample: Sample<JsonWire> = await hub.makeSample();
  expectType<string>(sample.aware);
  expectType<string>(sample.blob);
  // @ts-expect-error over JSON a datetime is an ISO 8601 string, not a Date
  expectType<Date>(sample.naive);
  // @ts-expect-error over JSON bytes are base64, not a Uint8Array
  expectType<Uint8Array>(sample.blob);
  void (() => {
    // @ts-expect-error over JSON a Uint8Array cannot be sent for bytes (never run)
    void hub.echoBlob(new Uint8Array([1]));
  });
  const built: SampleInput<JsonWire> = {
    ...common,
    aware: "2024-05-01T12:30:15.123Z",
    naive: "2024-05-01T12:30:00",
    blob: "AAH+/w==",
  };
  return observe(hub, jsonDeclared, built, "AQID", "2024-01-02T03:04:05.006Z");
}

async function overMessagePack(
  url: string,
  transport: HttpTransportType,
  wrap: boolean,
): Promise<Record<string, unknown>> {
  const hub = wrap
    ? createEchoHub(build(url, transport, new MessagePackHubProtocol()), { protocol: messagePack })
    : createEchoHub(url, { transport, protocol: messagePack });
  await hub.connection.start();
  const sample: Sample<MessagePackWire> = await hub.makeSample();
  expectType<Date>(sample.aware);
  expectType<Uint8Array>(sample.blob);
  // @ts-expect-error over MessagePack a datetime is a Date, not a string
  expectType<string>(sample.naive);
  // @ts-expect-error over MessagePack bytes are a Uint8Array, not base64
  expectType<string>(sample.blob);
  void (() => {
    // @ts-expect-error over MessagePack a base64 string cannot be sent for bytes (never run)
    void hub.echoBlob("AQID");
  });
  const built: SampleInput<MessagePackWire> = {
    ...common,
    aware: new Date("2024-05-01T12:30:15.123Z"),
    naive: new Date("2024-05-01T12:30:00Z"),
    blob: new Uint8Array([0, 1, 254, 255]),
  };
  return observe(
    hub,
    messagePackDeclared,
    built,
    new Uint8Array([1, 2, 3]),
    new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)),
  );
}

const [url, transportName, protocolName, how] = process.argv.slice(2);
if (url === undefined || transportName === undefined || (how !== "url" && how !== "connection")) {
  throw new Error("usage: <url> <transport> <protocol> <url|connection>");
}
const transport = HttpTransportType[transportName as keyof typeof HttpTransportType];
const wrap = how === "connection";
const observed =
  protocolName === "messagepack"
    ? await overMessagePack(url, transport, wrap)
    : await overJson(url, transport, wrap);
console.log(
  JSON.stringify({
    ...observed,
    declared: protocolName === "messagepack" ? messagePackDeclared : jsonDeclared,
    tablesMatch: [...jsonTablesMatch, ...messagePackTablesMatch],
  }),
);
