// End-to-end: two people in two browser contexts against a running quikapp.
// Usage: node e2e/chat.mjs <baseURL> <screenshotDir>
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { deflateSync } from "node:zlib";

const base = process.argv[2];
const shots = process.argv[3];
if (!base || !shots) {
  console.error("usage: node e2e/chat.mjs <baseURL> <screenshotDir>");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

// a real PNG (gradient), so the thumbnail worker has something to scale
function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const rows = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * 3);
    for (let x = 0; x < w; x++) {
      row[1 + x * 3] = (x * 255) / w;
      row[2 + x * 3] = (y * 255) / h;
      row[3 + x * 3] = 160;
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const T = 15000;
let step = "start";
const log = (s) => {
  step = s;
  console.log("step:", s);
};

async function signUp(page, name, email) {
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Display name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
}

async function send(page, placeholder, text) {
  const box = page.getByRole("textbox", { name: placeholder });
  await box.fill(text);
  await box.press("Enter");
}

const msg = (page, text) => page.locator("article.msg", { hasText: text });

try {
  const a = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
  const b = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
  const pa = await a.newPage();
  const pb = await b.newPage();
  for (const p of [pa, pb]) p.setDefaultTimeout(T);
  const errors = [];
  for (const p of [pa, pb]) p.on("console", (m) => m.type() === "error" && errors.push(m.text()));

  log("A signs up");
  await pa.goto(base);
  await pa.getByRole("button", { name: "Sign in" }).waitFor();
  await pa.screenshot({ path: `${shots}/sign-in-light.png` });
  await signUp(pa, "Ann Archer", "ann@example.com");

  log("A creates a workspace");
  await pa.getByLabel("Workspace name").fill("Acme Rockets");
  await pa.getByRole("button", { name: "Create workspace" }).click();
  await pa.locator('button.chan[data-channel="general"]').waitFor();

  log("the session is an HttpOnly cookie and survives a reload");
  const stored = await pa.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie);
  if (/eyJ[\w-]{8,}\./.test(stored) || stored.includes("quikapp_access")) throw new Error(`a token is visible to scripts: ${stored}`);
  await pa.reload();
  await pa.locator('button.chan[data-channel="general"]').waitFor();

  log("A creates a channel");
  await pa.getByRole("button", { name: "New channel" }).click();
  await pa.getByLabel("Channel name").first().fill("design");
  await pa.getByRole("button", { name: "Create", exact: true }).click();
  await pa.locator('button.chan[data-channel="design"]').waitFor();
  await pa.getByRole("heading", { name: "# design" }).waitFor();

  log("A invites B");
  await pa.getByRole("button", { name: "🛠 Admin" }).click();
  await pa.getByLabel("Email to invite").fill("bob@example.com");
  await pa.getByRole("button", { name: "Invite", exact: true }).click();
  const link = await pa.getByLabel("Invitation link").inputValue();
  if (!link.includes("/invite?token=")) throw new Error(`no invitation link: ${link}`);
  await pa.getByRole("button", { name: "Close" }).click();

  log("B accepts the invitation");
  await pb.goto(link);
  await signUp(pb, "Bob Baker", "bob@example.com");
  await pb.locator('button.chan[data-channel="general"]').waitFor();
  await pb.getByRole("button", { name: "Join #design" }).click();
  await pb.getByRole("heading", { name: "# design" }).waitFor();

  log("messages arrive live");
  await pa.locator('button.chan[data-channel="design"]').click();
  await pa.locator(".conn-live").waitFor();
  await pb.locator(".conn-live").waitFor();
  await send(pa, "Message #design", "Hello **Bob**, welcome to `design`!");
  await msg(pb, "welcome to").waitFor();
  if ((await msg(pb, "welcome to").locator("strong").textContent()) !== "Bob") throw new Error("Markdown bold not rendered");
  await send(pb, "Message #design", "Thanks Ann <b>not html</b>");
  await msg(pa, "Thanks Ann").waitFor();
  if ((await msg(pa, "Thanks Ann").locator("b").count()) !== 0) throw new Error("HTML in a message was rendered as markup");

  log("A sees B online in the people picker");
  await pa.getByRole("button", { name: "New direct message" }).click();
  await pa.locator(".dm-picker button", { hasText: "Bob Baker" }).locator(".presence-dot.online").waitFor();
  await pa.getByRole("button", { name: "New direct message" }).click();

  log("B reacts, A sees it");
  const hello = msg(pb, "welcome to");
  await hello.hover();
  await hello.getByRole("button", { name: "Add reaction" }).click();
  await pb.getByRole("menuitem", { name: "React with 👍" }).click();
  await msg(pa, "welcome to").locator(".reaction", { hasText: "1" }).waitFor();

  log("A replies in a thread, B sees the summary");
  const thanks = msg(pa, "Thanks Ann");
  await thanks.hover();
  await thanks.getByRole("button", { name: "Reply in thread" }).click();
  await send(pa, "Reply…", "Replying in a thread");
  await pa.locator(".thread").getByText("Replying in a thread").waitFor();
  await msg(pb, "Thanks Ann").getByRole("button", { name: /1 reply/ }).waitFor();
  await pa.getByRole("button", { name: "Close" }).click();

  log("unread badge appears and clears");
  await pa.locator('button.chan[data-channel="general"]').click();
  await pa.getByRole("heading", { name: "# general" }).waitFor();
  await send(pb, "Message #design", "Ping while you are away");
  const badge = pa.locator('button.chan[data-channel="design"] .badge');
  await badge.waitFor();
  await pa.locator('button.chan[data-channel="design"]').click();
  await msg(pa, "Ping while you are away").waitFor();
  await badge.waitFor({ state: "detached" });

  log("A uploads an image, B sees its thumbnail");
  await pa.locator('[data-testid="file-input"]').setInputFiles({ name: "mockup.png", mimeType: "image/png", buffer: png(320, 200) });
  await pa.getByRole("list", { name: "Attached files" }).getByText("mockup.png").waitFor();
  await send(pa, "Message #design", "Here is the rocket mockup");
  await msg(pb, "rocket mockup").locator("img.thumb").waitFor({ timeout: 30000 });
  await msg(pa, "rocket mockup").locator("img.thumb").waitFor({ timeout: 30000 });

  log("B searches and finds it");
  await pb.getByRole("searchbox", { name: "Search messages" }).or(pb.getByLabel("Search messages")).first().fill("mockup");
  await pb.getByLabel("Search messages").press("Enter");
  await pb.getByRole("list", { name: "Search results" }).locator("mark", { hasText: "mockup" }).waitFor();
  await pb.screenshot({ path: `${shots}/search-light.png` });
  await pb.getByRole("button", { name: "Close" }).click();

  log("a forbidden action shows the API's message");
  const annMsg = msg(pb, "welcome to");
  pb.once("dialog", (d) => d.accept());
  await annMsg.hover();
  await annMsg.getByRole("button", { name: "Delete message" }).click();
  const alert = pb.locator(".toast[role=alert]");
  await alert.waitFor();
  const text = (await alert.textContent()) ?? "";
  if (!/moderator|permission|not allowed|forbidden|role/i.test(text)) throw new Error(`unclear refusal: ${text}`);
  console.log("refusal shown:", text.trim());
  await alert.getByRole("button", { name: "Dismiss" }).click();

  log("B opens a search result far back in #general and reads on to the latest");
  await pa.evaluate(async () => {
    const h = { "Content-Type": "application/json", "X-QuikApp-Session": "cookie", "X-QuikApp-CSRF": "1" };
    const get = async (p) => (await fetch(`/api/v1${p}`, { headers: h })).json();
    const ws = (await get("/workspaces")).items[0].id;
    const general = (await get(`/workspaces/${ws}/channels`)).items.find((c) => c.name === "general").id;
    const post = (text) => fetch(`/api/v1/channels/${general}/messages`, { method: "POST", headers: h, body: JSON.stringify({ text }) });
    await post("The launch checklist is pinned in the wiki");
    for (let i = 1; i <= 70; i++) await post(`Status update ${i}`);
  });
  await pb.getByLabel("Search messages").fill("checklist");
  await pb.getByLabel("Search messages").press("Enter");
  await pb.getByRole("list", { name: "Search results" }).getByRole("button", { name: /launch checklist/ }).click();
  await pb.getByRole("heading", { name: "# general" }).waitFor();
  const target = pb.locator('article.msg[aria-current="location"]', { hasText: "launch checklist" });
  await target.waitFor();
  const inView = await target.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight;
  });
  if (!inView) throw new Error("the message opened from search is not scrolled into view");
  const toLatest = pb.getByRole("button", { name: "Jump to the latest ↓" });
  await toLatest.waitFor();
  if ((await msg(pb, "Status update 70").count()) !== 0) throw new Error("the latest page was loaded instead of the page around the result");
  await pb.screenshot({ path: `${shots}/jump-light.png` });
  // Scrolling down loads what is newer until the latest, and live events
  // take over from there.
  const log_ = pb.getByRole("log", { name: "Messages" });
  for (let i = 0; i < 10 && (await toLatest.count()) > 0; i++) {
    await log_.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await pb.waitForTimeout(300);
  }
  await toLatest.waitFor({ state: "detached" });
  await msg(pb, "Status update 70").waitFor();
  await pa.locator('button.chan[data-channel="general"]').click();
  await send(pa, "Message #general", "Live again after the jump");
  await msg(pb, "Live again after the jump").waitFor();
  await pa.locator('button.chan[data-channel="design"]').click();
  await pa.getByRole("heading", { name: "# design" }).waitFor();
  // Jump again, then straight back with the button.
  await pb.getByRole("list", { name: "Search results" }).getByRole("button", { name: /launch checklist/ }).click();
  await toLatest.click();
  await msg(pb, "Live again after the jump").waitFor();
  await toLatest.waitFor({ state: "detached" });

  log("B opens a thread reply from search: its thread opens beside the channel");
  await pb.getByLabel("Search messages").fill("replying");
  await pb.getByLabel("Search messages").press("Enter");
  await pb.getByRole("list", { name: "Search results" }).getByRole("button", { name: /Replying in a thread/ }).click();
  await pb.getByRole("heading", { name: "# design" }).waitFor();
  await pb.locator(".thread").locator('article.msg[aria-current="location"]', { hasText: "Replying in a thread" }).waitFor();
  await pb.locator('.messages article.msg[aria-current="location"]', { hasText: "Thanks Ann" }).waitFor();
  await pb.getByRole("button", { name: "Close" }).click();

  log("screenshots");
  await pa.screenshot({ path: `${shots}/channel-desktop-light.png` });
  await thanksThread(pa);
  await pa.screenshot({ path: `${shots}/thread-desktop-light.png` });
  await pa.getByRole("button", { name: "Close" }).click();
  await pa.emulateMedia({ colorScheme: "dark" });
  await pa.screenshot({ path: `${shots}/channel-desktop-dark.png` });
  await pa.keyboard.press("Control+K");
  await pa.getByRole("dialog", { name: "Quick switcher" }).waitFor();
  await pa.screenshot({ path: `${shots}/quick-switcher-dark.png` });
  await pa.keyboard.press("Escape");

  for (const scheme of ["light", "dark"]) {
    const pctx = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: scheme, isMobile: true, hasTouch: true });
    const pp = await pctx.newPage();
    pp.setDefaultTimeout(T);
    await pp.goto(base);
    await pp.getByRole("button", { name: "Sign in" }).waitFor();
    await pp.screenshot({ path: `${shots}/sign-in-phone-${scheme}.png` });
    await pp.getByLabel("Email").fill("bob@example.com");
    await pp.getByLabel("Password").fill("correct horse battery");
    await pp.getByRole("button", { name: "Sign in" }).click();
    await pp.locator("article.msg").first().waitFor();
    await msg(pp, "rocket mockup").locator("img.thumb").waitFor({ timeout: 30000 });
    await pp.screenshot({ path: `${shots}/channel-phone-${scheme}.png` });
    await pp.getByRole("button", { name: "Open the sidebar" }).click();
    await pp.locator('button.chan[data-channel="general"]').waitFor();
    await pp.screenshot({ path: `${shots}/sidebar-phone-${scheme}.png` });
    await pctx.close();
  }
  if (errors.length) console.log("console errors (informational):", errors.slice(0, 5));
  console.log("E2E OK");
  await browser.close();
} catch (e) {
  console.error(`E2E FAILED at step "${step}":`, e);
  await browser.close();
  process.exit(1);
}

async function thanksThread(p) {
  const m = msg(p, "Thanks Ann");
  await m.hover();
  await m.getByRole("button", { name: "Reply in thread" }).click();
  await p.locator(".thread").getByText("Replying in a thread").waitFor();
}
