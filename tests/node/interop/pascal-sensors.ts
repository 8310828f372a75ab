// The pascal golden case's generated client (tests/cases/pascal: fields =
// "pascal") on the official client against a hubgen server: what arrives has
// PascalCase properties, what it sends binds, and a stream's options are told
// from its optional model parameter. Compiled by tsc with the case's generated
// TypeScript (tests/support/tsnode.py), run by tests/interop/test_pascal_contract.py.
//
// Usage: node pascal-sensors.js <hubUrl> <json|messagepack>; prints one JSON object.
import { LogLevel } from "@microsoft/signalr";

import {
  createSensorHub,
  type Alarm,
  type HubStream,
  type Notice,
  type Reading,
  type SensorHub,
  type Wire,
} from "./generated/index.js";
import { messagePack } from "./generated/messagepack.js";

const [url, protocol] = process.argv.slice(2);
if (url === undefined || (protocol !== "json" && protocol !== "messagepack")) {
  throw new Error("usage: node pascal-sensors.js <hubUrl> <json|messagepack>");
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A value as JSON shows it, with a Date as its ISO string. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

async function collect<T>(stream: HubStream<T>): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of stream) {
    items.push(plain(item));
  }
  return items;
}

async function run<W extends Wire>(takenAt: W["datetime"], hub: SensorHub<W>): Promise<object> {
  const pushed = new Promise<Reading<W>>((resolve) => {
    hub.onReadingTaken(resolve);
  });
  const raised = new Promise<Alarm | Notice>((resolve) => {
    hub.onEventRaised(resolve);
  });
  await hub.connection.start();
  const recorded = await hub.record({ SensorId: "boiler", Value: 71.5, TakenAt: takenAt });
  await hub.raiseEvent({ Kind: "alarm", SensorId: "boiler", Threshold: 70 });

  const live = new AbortController();
  const streams = {
    // options right after the required argument, in the place of the filter
    options: await collect(hub.readings(1, { signal: live.signal })),
    // an object without a signal there is the filter: {} an empty one
    emptyFilter: await collect(hub.readings(1, {})),
    filter: await collect(hub.readings(1, { MinValue: 5 })),
    // options in the place of the delay (a number): any object is
    afterFilter: await collect(hub.readings(1, null, {})),
    all: await collect(hub.readings(1, { SensorIds: ["boiler"] }, 0.01, { signal: live.signal })),
  };
  let abortedBefore = "not aborted";
  try {
    await collect(hub.readings(1, { signal: AbortSignal.abort() }));
  } catch (error: unknown) {
    abortedBefore = describe(error);
  }

  // a peer that sends camelCase names: the required fields are missing
  let camelCase = "bound";
  try {
    await hub.connection.invoke("Record", { sensorId: "boiler", value: 1, takenAt: takenAt });
  } catch (error: unknown) {
    camelCase = describe(error);
  }
  const result = {
    recorded: plain(recorded),
    recordedKeys: Object.keys(recorded),
    pushed: plain(await pushed),
    raised: plain(await raised),
    streams,
    abortedBefore,
    camelCase,
  };
  await hub.connection.stop();
  return result;
}

const when = new Date(Date.UTC(2024, 4, 1, 12, 30));
const result =
  protocol === "json"
    ? await run(when.toISOString(), createSensorHub(url, { logger: LogLevel.None }))
    : await run(when, createSensorHub(url, { protocol: messagePack, logger: LogLevel.None }));
process.stdout.write(`${JSON.stringify(result)}\n`);
