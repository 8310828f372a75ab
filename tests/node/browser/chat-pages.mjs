// Drives chat pages in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core; no browser is ever downloaded). Reads one command a line on
// stdin and prints one JSON event a line on stdout, for tests/e2e/test_browser.py.
//
// Usage: node chat-pages.mjs <baseUrl> <transport> <userDataDir>
// Commands:
//   open <page> <user> <protocol>     open /?user=..&room=lobby&protocol=..&transport=..
//   say <page> <text...>              type the text and press Send
//   wait <page> <author> <text...>    until that message shows on the page
//   notice <page> <text...>           until a notice line with that text shows
//   messages <page>                   the messages the page shows, in order
//   screenshot <page> <path>          a PNG of the page
//   quit                              answers with the page errors seen
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [baseUrl, transport, userDataDir] = process.argv.slice(2);
const TIMEOUT = 10_000;

function emit(event, data = null) {
  process.stdout.write(JSON.stringify({ event, data }) + "\n");
}

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 900, height: 640 },
  timeout: 30_000,
});
context.setDefaultTimeout(TIMEOUT);
const pages = new Map();
const problems = [];

function page(name) {
  const found = pages.get(name);
  if (found === undefined) {
    throw new Error(`no page called ${name}`);
  }
  return found;
}

async function open(name, user, protocol) {
  const opened = await context.newPage();
  opened.on("pageerror", (error) => problems.push(`${name}: ${error.message}`));
  opened.on("console", (message) => {
    if (message.type() === "error") {
      problems.push(`${name}: console: ${message.text()}`);
    }
  });
  pages.set(name, opened);
  const query = new URLSearchParams({ user, room: "lobby", protocol, transport });
  await opened.goto(`${baseUrl}/?${query}`);
  await opened.locator('body[data-state="joined"]').waitFor();
  return { status: await opened.locator("#status").textContent() };
}

function messageLocator(target, author, text) {
  return target.locator(`#messages li.message[data-author="${author}"]`).filter({
    has: target.locator(".text", { hasText: text }),
  });
}

async function messages(name) {
  return page(name)
    .locator("#messages li.message")
    .evaluateAll((items) =>
      items.map((item) => ({
        id: item.dataset.id,
        author: item.dataset.author,
        text: item.querySelector(".text")?.textContent,
        sentAtType: item.dataset.sentAtType,
      })),
    );
}

const commands = {
  open: ([name, user, protocol]) => open(name, user, protocol),
  async say([name, ...words]) {
    const target = page(name);
    await target.locator("#text").fill(words.join(" "));
    await target.locator("#compose button").click();
    return null;
  },
  async wait([name, author, ...words]) {
    await messageLocator(page(name), author, words.join(" ")).waitFor();
    return null;
  },
  async notice([name, ...words]) {
    await page(name).locator("#messages li.notice", { hasText: words.join(" ") }).waitFor();
    return null;
  },
  messages: ([name]) => messages(name),
  async screenshot([name, path]) {
    await page(name).screenshot({ path });
    return path;
  },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [command, ...args] = line.split(" ");
  if (command === "quit") {
    emit("quit", problems);
    break;
  }
  try {
    const run = commands[command];
    if (run === undefined) {
      throw new Error(`unknown command ${command}`);
    }
    emit(command, await run(args));
  } catch (error) {
    emit("error", { command: line, message: String(error?.message ?? error), problems });
  }
}
await context.close();
process.exit(0);
