"""What the generated TypeScript accepts and rejects, checked by tsc itself:
each ``@ts-expect-error`` line must be an error, everything else must compile."""

from __future__ import annotations

import shutil
from pathlib import Path

from .goldens import CASES
from .support import tsc_problems

USAGE = """
import type { HubConnection } from "@microsoft/signalr";
import {
  createChatHub,
  registerChatClient,
  type ChatMessage,
  type ChatMessageInput,
  type HubStream,
} from "./chat/index.js";
import type { CatInput, Dog, OwnerInput } from "./pets/index.js";
import type { Page, PageInput, ItemInput, TreeInput } from "./shapes/index.js";
import { Color, type Swatch } from "./palette/index.js";

export async function use(connection: HubConnection): Promise<number> {
  const hub = createChatHub(connection);
  await hub.send("hi");
  const history: ChatMessage[] = await hub.history();
  await hub.history(10);
  // @ts-expect-error a number is required
  await hub.history("10");
  // @ts-expect-error unknown method
  await hub.sendMessage("x");
  const stream: HubStream<number> = hub.ticker("MSFT");
  let total = 0;
  for await (const price of stream) {
    total += price;
  }
  stream.subscribe({ next: (v: number) => void v, error: () => {}, complete: () => {} });
  async function* lines(): AsyncGenerator<string> {
    yield "a";
  }
  const count: number = await hub.upload(lines());
  const registration = registerChatClient(connection, {
    messageReceived: (message: ChatMessage) => void message.sentAt.length,
    confirm: async (question: string) => question.length > 0,
  });
  registration.dispose();
  // @ts-expect-error a client result must be a boolean
  registerChatClient(connection, { confirm: (question: string) => question });
  // @ts-expect-error parameters are checked strictly
  registerChatClient(connection, { messageReceived: (message: number) => void message });
  const input: ChatMessageInput = { author: "a", text: "b", sentAt: "2024-01-01T00:00:00Z" };
  // @ts-expect-error the server always sends defaulted fields
  const output: ChatMessage = { author: "a", text: "b", sentAt: "2024-01-01T00:00:00Z" };
  const cat: CatInput = { kind: "cat" };
  // @ts-expect-error the discriminator stays required in input
  const tagless: CatInput = { lives: 3 };
  const dog: Dog = { kind: "dog", good: true };
  const owner: OwnerInput = { name: "o", pets: [cat, dog] };
  const page: PageInput<ItemInput> = { items: [{ name: "x" }], total: 1 };
  const numbers: Page<number> = { items: [1], total: 1, cursor: null };
  const tree: TreeInput = { label: "root", children: [{ label: "leaf" }] };
  const swatch: Partial<Swatch> = { color: Color.RED };
  // @ts-expect-error not a Color
  const wrong: Partial<Swatch> = { color: "purple" };
  return total + count + history.length + [input, output, tagless, owner, page, numbers, tree]
    .length + (swatch.color === "red" ? 1 : 0) + (wrong.color === undefined ? 0 : 1);
}
"""


def test_generated_types_accept_and_reject_what_they_should(tmp_path: Path) -> None:
    for case in ("chat", "pets", "shapes", "palette"):
        shutil.copytree(CASES / case / "expected" / "web" / "generated", tmp_path / case)
    (tmp_path / "usage.ts").write_text(USAGE, encoding="utf-8")
    problems = tsc_problems(tmp_path)
    assert problems is None, problems
