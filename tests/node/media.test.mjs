// media.test.mjs — `npugen serve` with a Whisper model and a VLM, through the official `openai` npm
// client: transcriptions in every response format (the text equals `npugen transcribe` of the same
// file), and a chat request with an image data: URL whose greedy reply equals `npugen generate
// --chat --image` of the same user turn. The server marks an image part <ov_genai_image_N> in the
// message text and renders the messages with the chat template as the VLM pipeline's chat mode
// does, so the CLI's prompt is "<ov_genai_image_0>" + the text part, with --chat.
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI, { toFile } from "openai";

import { CLI, SHARED, model, startServer } from "./server.mjs";

const WAV = path.join(SHARED, "audio", "espeak_3s.wav");
const PNG = path.join(SHARED, "images", "coffee.png");
let srv, tiny, client;

before(async () => {
  srv = await startServer(["--model", "whisper=" + model("random-whisper-rescaled"), "--model",
    "llava=" + model("random-llava"), "--queue", "4", "-c", "NUM_THREADS=1"]);
  tiny = await startServer(["--model", "whisper=" + model("random-whisper-rescaled"), "--queue", "1",
    "-c", "NUM_THREADS=1"]);
  client = new OpenAI({ baseURL: srv.url + "v1", apiKey: "unused", maxRetries: 0 });
});

after(async () => {
  for (const s of [srv, tiny]) if (s) assert.equal(await s.stop(), 0, "the server exits 0 on SIGTERM");
});

const wavFile = () => toFile(fs.readFileSync(WAV), "espeak_3s.wav", { type: "audio/wav" });
const cli = (args) => execFileSync(CLI, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });

describe("models", () => {
  test("each model with its kind and what it takes", async () => {
    const list = await client.models.list();
    const byId = Object.fromEntries(list.data.map((m) => [m.id, m.npugen]));
    assert.equal(byId.whisper.kind, "whisper");
    assert.equal(byId.whisper.audio, true);
    assert.equal(byId.llava.kind, "vlm");
    assert.equal(byId.llava.images, true);
  });
});

describe("transcriptions", () => {
  test("json, text, srt, vtt and verbose_json; the text equals `npugen transcribe`", async () => {
    const expected = cli(["transcribe", model("random-whisper-rescaled"), WAV]).trim();
    assert.ok(expected.length > 0);
    const json = await client.audio.transcriptions.create({ model: "whisper", file: await wavFile() });
    assert.equal(json.text.trim(), expected);
    const text = await client.audio.transcriptions.create({ model: "whisper", file: await wavFile(),
      response_format: "text" });
    assert.equal(String(text).trim(), expected);
    const expectedSrt = cli(["transcribe", model("random-whisper-rescaled"), WAV, "--timestamps",
      "--output-format", "srt"]);
    const srt = await client.audio.transcriptions.create({ model: "whisper", file: await wavFile(),
      response_format: "srt" });
    assert.equal(String(srt).trim(), expectedSrt.trim());
    assert.match(String(srt), /^1\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\n/);
    const vtt = await client.audio.transcriptions.create({ model: "whisper", file: await wavFile(),
      response_format: "vtt" });
    assert.match(String(vtt), /^WEBVTT\n\n\d\d:\d\d\.\d\d\d --> /);
    const verbose = await client.audio.transcriptions.create({ model: "whisper", file: await wavFile(),
      response_format: "verbose_json", timestamp_granularities: ["word", "segment"] });
    assert.equal(verbose.task, "transcribe");
    assert.ok(Math.abs(verbose.duration - 3) < 0.1, `duration ${verbose.duration}`);
    assert.ok(verbose.segments.length > 0);
    assert.equal(verbose.segments.map((s) => s.text).join("").trim(), verbose.text.trim());
    assert.ok(verbose.words.length > 0);
    for (const w of verbose.words) assert.ok(w.end >= w.start);
  });

  test("a chat request to a Whisper model and a bad upload are 400", async () => {
    await assert.rejects(client.chat.completions.create({ model: "whisper",
      messages: [{ role: "user", content: "hi" }] }),
    (e) => e.status === 400 && e.code === "model_not_supported" && /transcriptions/.test(e.message));
    const junk = await toFile(Buffer.from("not audio at all"), "x.wav", { type: "audio/wav" });
    await assert.rejects(client.audio.transcriptions.create({ model: "whisper", file: junk }),
      (e) => e.status === 400 && e.param === "file");
  });
});

describe("one request at a time", () => {
  test("with --queue 1 concurrent transcriptions beyond the running and the waiting one get 429; metrics show the model", async () => {
    const c = new OpenAI({ baseURL: tiny.url + "v1", apiKey: "unused", maxRetries: 0 });
    const file = await wavFile();
    const all = await Promise.allSettled(Array.from({ length: 6 }, () =>
      c.audio.transcriptions.create({ model: "whisper", file })));
    const ok = all.filter((r) => r.status === "fulfilled");
    const busy = all.filter((r) => r.status === "rejected" && r.reason.status === 429);
    assert.ok(ok.length >= 1, "one request runs");
    assert.ok(busy.length >= 1, "the others are refused while it runs");
    assert.equal(ok.length + busy.length, 6);
    for (const r of busy) assert.equal(r.reason.headers["retry-after"], "1");
    const m = await (await fetch(tiny.url + "metrics")).text();
    assert.match(m, /^npugen_queue_depth\{model="whisper"\} 0$/m);
    assert.match(m, /^npugen_sequence_slots\{model="whisper"\} 1$/m);
  });
});

describe("vision chat", () => {
  test("an image data: URL; the greedy reply equals `npugen generate --chat --image`", async () => {
    const prompt = "What is in this picture?";
    const expected = cli(["generate", model("random-llava"), "--image", PNG, "-p", "<ov_genai_image_0>" + prompt,
      "--chat", "--greedy", "--max-new-tokens", "8"]).replace(/\n$/, "");
    const url = "data:image/png;base64," + fs.readFileSync(PNG).toString("base64");
    const messages = [{ role: "user", content: [{ type: "image_url", image_url: { url } },
      { type: "text", text: prompt }] }];
    const r = await client.chat.completions.create({ model: "llava", temperature: 0, max_tokens: 8, messages });
    assert.equal(r.choices[0].message.content, expected);
    assert.equal(r.usage.completion_tokens, 8);
    const stream = await client.chat.completions.create({ model: "llava", temperature: 0, max_tokens: 8, messages,
      stream: true });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    assert.equal(text, expected);
  });

  test("text-only chat works; completions and a non-image are 400", async () => {
    const r = await client.chat.completions.create({ model: "llava", temperature: 0, max_tokens: 3,
      messages: [{ role: "user", content: "hello" }] });
    assert.equal(r.usage.completion_tokens, 3);
    await assert.rejects(client.completions.create({ model: "llava", prompt: "x" }),
      (e) => e.status === 400 && e.code === "model_not_supported");
    const bad = "data:image/png;base64," + Buffer.from("nope").toString("base64");
    await assert.rejects(client.chat.completions.create({ model: "llava", messages: [{ role: "user",
      content: [{ type: "image_url", image_url: { url: bad } }] }] }),
    (e) => e.status === 400 && e.param === "messages[0].content[0]");
  });
});
