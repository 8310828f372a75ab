// What the packed @hubgen-tests/echo-client package must reject. tsc fails on
// an unused `@ts-expect-error`, so this file compiles only if every marked line
// really is an error (tests/e2e/test_typescript_package.py).
import {
  type ConnectOptions,
  type EchoClient,
  type EchoHub,
  type HubStream,
  type Item,
  type MessagePackWire,
  createEchoHub,
  json,
  registerEchoClient,
} from "@hubgen-tests/echo-client";
import { messagePack } from "@hubgen-tests/echo-client/messagepack";
import { HubConnectionBuilder, type IStreamResult, LogLevel, Subject } from "@microsoft/signalr";

export async function mistakes(url: string): Promise<void> {
  const hub = createEchoHub(url);

  // method names
  // @ts-expect-error no such method (the wire name is Echo, the method echo)
  await hub.Echo("hi");
  // @ts-expect-error no such method
  await hub.echoo("hi");

  // argument types and counts
  // @ts-expect-error a string is required
  await hub.echo(42);
  // @ts-expect-error `a` is required; only `b` has a default
  await hub.add();
  // @ts-expect-error too many arguments
  await hub.add(1, 2, 3);
  // @ts-expect-error `name` is required in an Item
  await hub.echoItem({ quantity: 2 });
  // @ts-expect-error not a Color
  await hub.echoItem({ name: "x", color: "blue" });
  // @ts-expect-error exactOptionalPropertyTypes: leave it out instead
  await hub.echoItem({ name: "x", quantity: undefined });
  // @ts-expect-error over JSON, bytes are base64 strings
  await hub.echoItem({ name: "x", payload: new Uint8Array([1]) });

  // result types
  // @ts-expect-error add returns a number
  const added: string = await hub.add(1);
  // @ts-expect-error over JSON, bytes arrive as a string
  const payload: Uint8Array = (await hub.echoItem({ name: "x" })).payload;

  // receiver signatures
  // @ts-expect-error message receives a string
  hub.register({ message: (text: number) => void text });
  // @ts-expect-error a client result must be a number
  hub.register({ ask: (question: string) => question });
  // push handlers may return anything (SignalR ignores it), client results may not
  const pushes: string[] = [];
  hub.onMessage((text) => pushes.push(text));
  // @ts-expect-error the server awaits a number
  hub.onAsk((question) => pushes.push(question) > 0);
  // @ts-expect-error a promise of one
  hub.onAsk(async (question) => question);
  // @ts-expect-error not nothing
  hub.onAsk(() => {});
  // @ts-expect-error no such client method
  hub.register({ mesage: (text: string) => void text });
  // @ts-expect-error message takes one argument
  hub.onMessage((text: string, extra: string) => void [text, extra]);
  // @ts-expect-error an item, not a string
  const receiver: Partial<EchoClient> = { itemReceived: (item: string) => void item };

  // stream item types
  // @ts-expect-error counter streams numbers
  const strings: HubStream<string> = hub.counter(3);
  for await (const value of hub.counter(3)) {
    // @ts-expect-error a number
    const text: string = value;
    void text;
  }
  // @ts-expect-error the signal goes in the options
  hub.counter(3, 0, new AbortController().signal);
  // @ts-expect-error also where the options follow the last required argument
  hub.counter(3, new AbortController().signal);
  // @ts-expect-error the options come last
  hub.counter(3, { signal: new AbortController().signal }, 0.5);
  // @ts-expect-error not options, not a delay
  hub.counter(3, "0.5");
  async function* words(): AsyncGenerator<string> {
    yield "one";
  }
  async function* counts(): AsyncGenerator<number> {
    yield 1;
  }
  // @ts-expect-error sumUpload takes numbers
  await hub.sumUpload(words());
  // @ts-expect-error an upload is not a stream result to subscribe to
  hub.sumUpload(counts()).subscribe({});

  // upload item types: @microsoft/signalr declares IStreamResult's members as
  // methods, which TypeScript compares bivariantly, so an IStreamResult<number>
  // parameter would take each of these
  // @ts-expect-error an untyped Subject (the official docs' idiom) has unknown items
  await hub.sumUpload(new Subject());
  // @ts-expect-error a Subject<number | null> may send null
  await hub.sumUpload(new Subject<number | null>());
  const anything: IStreamResult<unknown> = new Subject<unknown>();
  // @ts-expect-error unknown items are not numbers
  hub.doubleUpload(anything);
  // @ts-expect-error an upload in a stream method is checked the same way
  hub.doubleUpload(new Subject<number | undefined>());
  // @ts-expect-error a stream of strings is no upload of numbers
  await hub.sumUpload(new Subject<string>());

  // subscribers: the same bivariance let a subscriber take less than the stream sends
  hub.counter(3).subscribe({
    // @ts-expect-error counter sends any number, not only 0, 1 or 2
    next: (value: 0 | 1 | 2) => void value,
    error: () => {},
    complete: () => {},
  });
  hub.counter(3).subscribe({
    // @ts-expect-error the same with method syntax
    next(value: 0 | 1 | 2): void {
      void value;
    },
    error(): void {},
    complete(): void {},
  });

  // the wire types follow the protocol
  const binary = createEchoHub(url, { protocol: messagePack });
  const item: Item<MessagePackWire> = await binary.echoItem({ name: "x", payload: new Uint8Array([1]) });
  // @ts-expect-error over MessagePack, bytes are a Uint8Array
  const base64: string = item.payload;
  // @ts-expect-error a MessagePack hub is not a JSON hub
  const jsonItem: Item = await binary.echoItem({ name: "x" });

  // ... and follow from the protocol alone, not from a type argument or an
  // annotation: each of these spoke JSON while its types promised MessagePack's
  // @ts-expect-error without { protocol: messagePack } the connection speaks JSON
  createEchoHub<MessagePackWire>(url);
  // @ts-expect-error options that name no protocol choose JSON
  createEchoHub<MessagePackWire>(url, { logger: LogLevel.Error });
  // @ts-expect-error a type argument against the protocol
  createEchoHub<MessagePackWire>(url, { protocol: json });
  // @ts-expect-error an annotation is no protocol either
  const annotated: EchoHub<MessagePackWire> = createEchoHub(url);
  const typedOptions: ConnectOptions<MessagePackWire> = { logger: LogLevel.Error };
  // @ts-expect-error options typed for MessagePack that do not choose it
  createEchoHub(url, typedOptions);

  // a connection the application built: wrapping it says which protocol it uses
  const connection = new HubConnectionBuilder().withUrl(url).build();
  // @ts-expect-error the protocol is required
  createEchoHub(connection);
  // @ts-expect-error a type argument does not replace it
  createEchoHub<MessagePackWire>(connection);
  // @ts-expect-error nor does an annotation
  const wrapped: EchoHub<MessagePackWire> = createEchoHub(connection, { protocol: json });
  const binaryReceiver = { itemReceived: (item: Item<MessagePackWire>) => void item };
  // @ts-expect-error registering a receiver on it says the protocol as well
  registerEchoClient(connection, binaryReceiver);
  // @ts-expect-error and the receiver's types follow from it
  registerEchoClient(connection, binaryReceiver, { protocol: json });

  void [added, payload, receiver, strings, base64, jsonItem, annotated, wrapped];
}
