// Drives chat pages in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core; no browser is ever downloaded). Reads one command a line on
// stdin and prints one JSON event a line on stdout, for tests/e2e/test_browser.py.
//
// Usage: node chat-pages.mjs <baseUrl> <transport> <userDataDir> <passphrase>
// Commands:
//   open <page> <user> <protocol> [passphrase...]
//                                     open /?user=..&room=lobby&protocol=..&transport=..,
//                                     type the passphrase (the server's, unless given)
//                                     and sign in; answers with the page's state once it
//                                     joined or was refused: {state, status, error}
//   say <page> <text...>              type the text and press Send (/msg name text: private)
//   wait <page> <author> <text...>    until that room message shows on the page
//   private <page> <author> <recipient> <text...>
//                                     until that private message shows on the page
//   notice <page> <text...>           until a notice line with that text shows
//   messages <page>                   the messages the page shows, in order
//   notices <page>                    the notice lines the page shows, in order
//   storage <page>                    what the page keeps: its URL, cookies, local and
//                                     session storage (the token must be in none)
//   screenshot <page> <path>          a PNG of the page
//   quit                              answers with the page errors seen
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [baseUrl, transport, userDataDir, passphrase] = process.argv.slice(2);
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

async function open(name, user, protocol, given) {
  const opened = await context.newPage();
  opened.on("pageerror", (error) => problems.push(`${name}: ${error.message}`));
  opened.on("console", (message) => {
    // a refused sign-in is the page's to show, not an error of the page
    if (message.type() === "error" && !message.text().includes("the server responded with a status of 401")) {
      problems.push(`${name}: console: ${message.text()}`);
    }
  });
  pages.set(name, opened);
  const query = new URLSearchParams({ user, room: "lobby", protocol, transport });
  await opened.goto(`${baseUrl}/?${query}`);
  await opened.locator('body[data-state="ready"]').waitFor();
  await opened.locator('#signin input[name="passphrase"]').fill(given.length > 0 ? given.join(" ") : passphrase);
  await opened.locator("#signin button").click();
  await opened.locator('body[data-state="joined"], body[data-state="signed-out"]').waitFor();
  return {
    state: await opened.locator("body").getAttribute("data-state"),
    status: await opened.locator("#status").textContent(),
    error: await opened.locator("#signin-error").textContent(),
  };
}

function messageLocator(target, author, text) {
  return target.locator(`#messages li.message:not(.private)[data-author="${author}"]`).filter({
    has: target.locator(".text", { hasText: text }),
  });
}

function privateLocator(target, author, recipient, text) {
  return target
    .locator(`#messages li.message.private[data-author="${author}"][data-recipient="${recipient}"]`)
    .filter({ has: target.locator(".text", { hasText: text }) });
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
        private: item.classList.contains("private"),
        recipient: item.dataset.recipient ?? null,
      })),
    );
}

async function storage(name) {
  const target = page(name);
  const kept = await target.evaluate(() => ({
    url: location.href,
    local: JSON.stringify({ ...localStorage }),
    session: JSON.stringify({ ...sessionStorage }),
  }));
  return { ...kept, cookies: JSON.stringify(await context.cookies()) };
}

const commands = {
  open: ([name, user, protocol, ...given]) => open(name, user, protocol, given),
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
  async private([name, author, recipient, ...words]) {
    await privateLocator(page(name), author, recipient, words.join(" ")).waitFor();
    return null;
  },
  async notice([name, ...words]) {
    await page(name).locator("#messages li.notice", { hasText: words.join(" ") }).waitFor();
    return null;
  },
  messages: ([name]) => messages(name),
  notices: ([name]) => page(name).locator("#messages li.notice").allTextContents(),
  storage: ([name]) => storage(name),
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
