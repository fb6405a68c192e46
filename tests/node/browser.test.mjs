// browser.test.mjs — the chat page at GET / in a real browser: Debian's chromium, headless, driven by
// puppeteer-core. It picks a model, sends a message, waits for the streamed reply and the tokens/s
// line; the stop button ends a long reply; image and audio controls stay disabled for text models.
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, test } from "node:test";
import puppeteer from "puppeteer-core";

import { model, startServer } from "./server.mjs";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
let server, browser;

before(async () => {
  assert.ok(CHROMIUM, "chromium is not installed (scripts/debian-packages.txt lists it)");
  server = await startServer(["--model", "chat=" + model("random-llama-chat"), model("stories260K"),
    "-c", "NUM_THREADS=1"]);
  browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal(await server.stop(), 0);
});

test("sends a message and shows the streamed reply", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const resp = await page.goto(server.url, { waitUntil: "load" });
  assert.equal(resp.status(), 200);
  assert.match(resp.headers()["content-type"], /text\/html/);
  await page.waitForFunction(() => document.querySelectorAll("#model option").length === 2, { timeout: 10000 });
  await page.select("#model", "chat");
  assert.equal(await page.$eval("#image", (e) => e.disabled), true, "no image upload for a text model");
  assert.equal(await page.$eval("#audio", (e) => e.disabled), true, "no audio upload for a text model");
  await page.$eval("#maxtokens", (e) => { e.value = "20"; });
  await page.type("#input", "Hello there");
  await page.click("#send");
  await page.waitForFunction(() => {
    const a = document.querySelector(".msg.assistant");
    return a && a.dataset.done === "1";
  }, { timeout: 30000 });
  const user = await page.$eval(".msg.user", (e) => e.textContent);
  const reply = await page.$eval(".msg.assistant", (e) => e.textContent);
  assert.equal(user, "Hello there");
  assert.ok(reply.length > 0, "a reply was streamed in");
  assert.match(await page.$eval("#stats", (e) => e.textContent), /^20 tokens, [0-9.]+ tokens\/s$/);
  assert.equal(await page.$$eval(".msg.error", (l) => l.length), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the stop button ends a long reply", async () => {
  const page = await browser.newPage();
  await page.goto(server.url, { waitUntil: "load" });
  await page.waitForFunction(() => document.querySelectorAll("#model option").length === 2);
  await page.select("#model", "chat");
  await page.$eval("#maxtokens", (e) => { e.value = "1900"; });
  await page.type("#input", "Tell me everything");
  await page.click("#send");
  await page.waitForFunction(() => (document.querySelector(".msg.assistant") || {}).textContent?.length > 0,
    { timeout: 30000 });
  await page.click("#stop");
  await page.waitForFunction(() => document.querySelector(".msg.assistant").dataset.done === "1", { timeout: 10000 });
  assert.equal(await page.$eval("#send", (e) => e.disabled), false);
  await page.close();
});
