// openai.test.mjs — `npugen serve` through the official `openai` npm client (node --test): chat and
// completions streamed and not, models, n, stop, seeds, concurrent streams equal to the same request
// alone, the errors as the client reports them (401, 400, 413, 429), image and audio requests refused
// for a text model, a client that goes away freeing its sequence, metrics.
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI, { toFile } from "openai";

import { CLI, metric, model, startServer } from "./server.mjs";

let main, keyed, tiny, client;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "npg-serve-"));
const keyFile = path.join(tmp, "key");
const KEY = "sk-test-" + Math.random().toString(36).slice(2);

before(async () => {
  fs.writeFileSync(keyFile, KEY + "\n");
  main = await startServer([model("stories260K"), "--model", "chat=" + model("random-llama-chat"),
    "--parallel", "3", "--queue", "16", "--max-body", "65536", "-c", "NUM_THREADS=1"]);
  keyed = await startServer(["--model", "chat=" + model("random-llama-chat"), "--api-key-file", keyFile,
    "--request-timeout", "2", "-c", "NUM_THREADS=1"]);
  tiny = await startServer(["--model", "chat=" + model("random-llama-chat"), "--parallel", "1", "--queue", "1",
    "-c", "NUM_THREADS=1"]);
  client = new OpenAI({ baseURL: main.url + "v1", apiKey: "unused", maxRetries: 0 });
});

after(async () => {
  for (const s of [main, keyed, tiny]) if (s) assert.equal(await s.stop(), 0, "the server exits 0 on SIGTERM");
  fs.rmSync(tmp, { recursive: true, force: true });
});

const chatReq = (seed, extra = {}, topic = seed) => ({
  model: "chat", seed, max_tokens: 24, temperature: 0.9,
  messages: [{ role: "system", content: "You are terse." }, { role: "user", content: "Tell me a story " + topic }],
  ...extra,
});

async function streamText(stream) {
  const parts = {};
  let usage = null, finish = {};
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      const piece = c.delta ? c.delta.content : c.text;
      parts[c.index] = (parts[c.index] ?? "") + (piece ?? "");
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
  }
  return { parts, usage, finish };
}

describe("models", () => {
  test("lists every served model under its name", async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids.sort(), ["chat", "stories260K"]);
    const one = await client.models.retrieve("chat");
    assert.equal(one.id, "chat");
    assert.equal(one.object, "model");
  });
});

describe("chat completions", () => {
  test("a reply with usage; streamed, the same text with the same seed", async () => {
    const r = await client.chat.completions.create(chatReq(7));
    assert.equal(r.object, "chat.completion");
    assert.equal(r.model, "chat");
    assert.equal(r.choices.length, 1);
    const text = r.choices[0].message.content;
    assert.equal(r.choices[0].message.role, "assistant");
    assert.ok(text.length > 0);
    assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
    assert.ok(r.usage.prompt_tokens > 10);
    assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 24);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    const s = await streamText(await client.chat.completions.create(
      { ...chatReq(7), stream: true, stream_options: { include_usage: true } }));
    assert.equal(s.parts[0], text);
    assert.equal(s.finish[0], r.choices[0].finish_reason);
    assert.deepEqual(s.usage, r.usage);
  });

  test("another seed gives another reply; max_completion_tokens bounds it", async () => {
    const a = await client.chat.completions.create(chatReq(1));
    const b = await client.chat.completions.create(chatReq(2));
    assert.notEqual(a.choices[0].message.content, b.choices[0].message.content);
    const c = await client.chat.completions.create({ ...chatReq(3), max_tokens: undefined, max_completion_tokens: 3 });
    assert.equal(c.usage.completion_tokens, 3);
    assert.equal(c.choices[0].finish_reason, "length");
  });

  test("n choices: choice i equals the request alone with seed + i", async () => {
    const r = await client.chat.completions.create({ ...chatReq(40), n: 3 });
    assert.equal(r.choices.length, 3);
    for (let i = 0; i < 3; i++) {
      const alone = await client.chat.completions.create(chatReq(40 + i, {}, 40));
      assert.equal(r.choices[i].index, i);
      assert.equal(r.choices[i].message.content, alone.choices[0].message.content);
    }
  });

  test("concurrent streams each equal the same request alone", async () => {
    const seeds = [11, 12, 13, 14, 15, 16, 17];
    const alone = [];
    for (const seed of seeds) alone.push((await client.chat.completions.create(chatReq(seed))).choices[0].message.content);
    const together = await Promise.all(seeds.map(async (seed) =>
      (await streamText(await client.chat.completions.create({ ...chatReq(seed), stream: true }))).parts[0]));
    assert.deepEqual(together, alone);
  });

  test("a stop string ends the reply before it", async () => {
    const free = (await client.completions.create(
      { model: "stories260K", prompt: "Once upon a time", max_tokens: 40, temperature: 0 })).choices[0].text;
    const word = free.trim().split(/\s+/)[3];
    const r = await client.completions.create(
      { model: "stories260K", prompt: "Once upon a time", max_tokens: 40, temperature: 0, stop: [word] });
    assert.equal(r.choices[0].finish_reason, "stop");
    assert.equal(r.choices[0].text, free.slice(0, free.indexOf(word)));
  });
});

describe("completions", () => {
  test("greedy text equals `npugen generate`; streamed equals whole", async () => {
    const cli = execFileSync(CLI, ["generate", model("stories260K"), "-p", "Once upon a time", "-n", "20", "--greedy",
      "-t", "1"], { encoding: "utf8" });
    const r = await client.completions.create(
      { model: "stories260K", prompt: "Once upon a time", max_tokens: 20, temperature: 0 });
    assert.equal(r.object, "text_completion");
    assert.equal(r.choices[0].text, cli.replace(/\n$/, ""));
    assert.equal(r.usage.completion_tokens, 20);
    const s = await streamText(await client.completions.create(
      { model: "stories260K", prompt: "Once upon a time", max_tokens: 20, temperature: 0, stream: true }));
    assert.equal(s.parts[0], r.choices[0].text);
    const echo = await client.completions.create(
      { model: "stories260K", prompt: "Once upon a time", max_tokens: 20, temperature: 0, echo: true });
    assert.equal(echo.choices[0].text, "Once upon a time" + r.choices[0].text);
  });
});

describe("errors as the client sees them", () => {
  test("401 without the key or with a wrong one; the key works", async () => {
    for (const apiKey of ["wrong", KEY + "x", KEY.slice(0, -1)]) {
      const c = new OpenAI({ baseURL: keyed.url + "v1", apiKey, maxRetries: 0 });
      await assert.rejects(c.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401 &&
        e.code === "invalid_api_key");
    }
    const ok = new OpenAI({ baseURL: keyed.url + "v1", apiKey: KEY, maxRetries: 0 });
    const r = await ok.chat.completions.create(chatReq(1, { max_tokens: 4 }));
    assert.equal(r.choices.length, 1);
    const health = await fetch(keyed.url + "health");
    assert.equal(health.status, 200, "/health needs no key");
  });

  const bad = async (req, param, code) => {
    await assert.rejects(client.chat.completions.create(req), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, String(e));
      assert.equal(e.status, 400);
      assert.equal(e.error.type, "invalid_request_error");
      if (param !== undefined) assert.equal(e.param, param);
      if (code !== undefined) assert.equal(e.code, code);
      assert.ok(e.message.length > 10);
      return true;
    });
  };

  test("400: unknown model, bad ranges and types, empty messages", async () => {
    await bad({ ...chatReq(1), model: "nope" }, "model", "model_not_found");
    await bad({ ...chatReq(1), temperature: 3 }, "temperature");
    await bad({ ...chatReq(1), top_p: 0 }, "top_p");
    await bad({ ...chatReq(1), max_tokens: 0 }, "max_tokens");
    await bad({ ...chatReq(1), max_tokens: 1e9 }, "max_tokens");
    await bad({ ...chatReq(1), presence_penalty: -5 }, "presence_penalty");
    await bad({ ...chatReq(1), n: 0 }, "n");
    await bad({ ...chatReq(1), stop: ["a", "b", "c", "d", "e"] }, "stop");
    await bad({ ...chatReq(1), messages: [] }, "messages");
    await bad({ ...chatReq(1), messages: [{ role: "wizard", content: "x" }] }, "messages[0].role");
    await bad({ ...chatReq(1), stream_options: { include_usage: true } }, "stream_options");
  });

  test("400: a prompt over the context", async () => {
    const long = "Once upon a time ".repeat(200);
    await assert.rejects(client.completions.create({ model: "stories260K", prompt: long, max_tokens: 4 }),
      (e) => e.status === 400 && e.code === "context_length_exceeded" && /context/.test(e.message));
  });

  test("400: malformed JSON", async () => {
    const r = await fetch(main.url + "v1/chat/completions", { method: "POST", body: "{\"model\": \"chat\", " });
    assert.equal(r.status, 400);
    const j = await r.json();
    assert.equal(j.error.code, "invalid_json");
    assert.ok("param" in j.error && "type" in j.error);
  });

  test("413: a body over --max-body", async () => {
    const big = { ...chatReq(1), messages: [{ role: "user", content: "x".repeat(70000) }] };
    await assert.rejects(client.chat.completions.create(big), (e) => e.status === 413 && e.code === "request_too_large");
  });

  test("429 with Retry-After when the queue is full; the server goes on", async () => {
    const c = new OpenAI({ baseURL: tiny.url + "v1", apiKey: "unused", maxRetries: 0 });
    const req = { ...chatReq(1), max_tokens: 1500 };
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => c.chat.completions.create(req)));
    const limited = results.filter((r) => r.status === "rejected");
    const served = results.filter((r) => r.status === "fulfilled");
    assert.ok(limited.length > 0, "some requests are refused");
    assert.ok(served.length >= 1, "the queue's requests are served");
    for (const r of limited) {
      assert.ok(r.reason instanceof OpenAI.RateLimitError, String(r.reason));
      assert.equal(r.reason.status, 429);
      assert.equal(r.reason.headers["retry-after"], "1");
    }
    const after = await c.chat.completions.create({ ...chatReq(2), max_tokens: 4 });
    assert.equal(after.choices.length, 1);
  });

  test("image parts and transcriptions: parsed, then refused for a text model", async () => {
    const png = "data:image/png;base64," + Buffer.from("\x89PNG\r\n\x1a\nfake").toString("base64");
    await bad({ ...chatReq(1), messages: [{ role: "user", content: [{ type: "text", text: "what is this?" },
      { type: "image_url", image_url: { url: png } }] }] }, "messages[0].content[1]", "model_not_supported");
    await bad({ ...chatReq(1), messages: [{ role: "user", content: [
      { type: "image_url", image_url: { url: "https://example.com/a.png" } }] }] }, "messages[0].content[0]");
    const file = await toFile(Buffer.alloc(3200), "silence.wav", { type: "audio/wav" });
    await assert.rejects(client.audio.transcriptions.create({ model: "chat", file, language: "en" }),
      (e) => e.status === 400 && e.code === "model_not_supported" && /does not support audio transcription/.test(e.message));
    await assert.rejects(client.audio.transcriptions.create({ model: "nope", file }),
      (e) => e.status === 400 && e.param === "model");
  });
});

describe("connections", () => {
  test("a client that goes away frees its sequence at once", async () => {
    const ac = new AbortController();
    const stream = await client.chat.completions.create({ ...chatReq(5), max_tokens: 1900, stream: true },
      { signal: ac.signal });
    let n = 0;
    try {
      for await (const chunk of stream) if (++n === 3) ac.abort(); // the client ends the iteration quietly
    } catch (e) {
      assert.equal(e.name, "AbortError");
    }
    assert.ok(n >= 3 && n < 200, `chunks after the abort: ${n}`);
    let active = 1;
    for (let i = 0; i < 50 && active !== 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      active = metric(await (await fetch(main.url + "metrics")).text(), 'npugen_active_sequences{model="chat"}');
    }
    assert.equal(active, 0);
  });

  test("metrics count requests, tokens and latencies", async () => {
    const text = await (await fetch(main.url + "metrics")).text();
    assert.ok(metric(text, 'npugen_http_requests_total{code="200"}') > 10);
    assert.ok(metric(text, 'npugen_http_requests_total{code="400"}') > 5);
    assert.ok(metric(text, "npugen_generated_tokens_total") > 100);
    assert.ok(metric(text, "npugen_time_to_first_token_seconds_count") > 10);
    assert.ok(metric(text, 'npugen_time_per_output_token_seconds_bucket{le="+Inf"}') > 10);
    assert.equal(metric(text, 'npugen_queue_depth{model="chat"}'), 0);
    assert.ok(metric(text, 'npugen_prefix_reused_tokens_total{model="chat"}') > 0, "the system prompt is reused");
  });

  test("a half-open client is dropped after the idle timeout; others are served meanwhile", async () => {
    const url = new URL(keyed.url);
    const sock = net.connect(Number(url.port), url.hostname);
    const t0 = Date.now();
    const closed = new Promise((resolve) => sock.on("close", () => resolve(Date.now() - t0)));
    sock.on("error", () => {});
    sock.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"mo");
    const ok = new OpenAI({ baseURL: keyed.url + "v1", apiKey: KEY, maxRetries: 0 });
    const r = await ok.chat.completions.create(chatReq(2, { max_tokens: 4 }));
    assert.equal(r.choices.length, 1);
    const ms = await closed;
    assert.ok(ms >= 1000 && ms < 15000, `closed after ${ms} ms (--request-timeout 2)`);
  });

  test("unknown paths and methods", async () => {
    assert.equal((await fetch(main.url + "v2/nothing")).status, 404);
    assert.equal((await fetch(main.url + "v1/chat/completions")).status, 405);
  });
});
