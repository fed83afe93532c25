// `alisa serve` driven by the official OpenAI Node client (pinned in package.json), unchanged, and
// by curl:
// completions, chat, streaming with usage, stop strings, seeded sampling, errors as APIError.
// Run by ctest (tests/CMakeLists.txt) as: node --test, with ALISA_BIN set to the alisa binary.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import OpenAI from "openai";

const bin = process.env.ALISA_BIN;
let server;
let client;
let baseURL;

before(async () => {
  assert.ok(bin, "ALISA_BIN must name the alisa binary");
  server = spawn(bin, ["serve", "--host", "127.0.0.1", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("alisa serve did not start: " + out)), 60000);
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    server.on("exit", (code) => reject(new Error(`alisa serve exited with ${code}: ${out}`)));
  });
  baseURL = `http://127.0.0.1:${port}/v1`;
  client = new OpenAI({ baseURL, apiKey: "not-needed", maxRetries: 0 });
});

after(() => { if (server) server.kill("SIGTERM"); });

test("lists the served model", async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ["stories260K"]);
});

test("greedy completion equals alisa run", async () => {
  const ran = JSON.parse(execFileSync(bin, ["run", "--prompt", "Once upon a time", "--max-tokens", "32", "--json"]));
  const c = await client.completions.create({ model: "stories260K", prompt: "Once upon a time", max_tokens: 32, temperature: 0 });
  assert.equal(c.choices[0].text, ran.text);
  assert.equal(c.usage.prompt_tokens, ran.num_prompt_tokens);
  assert.equal(c.usage.completion_tokens, ran.num_generated_tokens);
});

test("chat completion answers as the assistant", async () => {
  const c = await client.chat.completions.create({
    model: "stories260K", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 16, temperature: 0,
  });
  assert.equal(c.object, "chat.completion");
  assert.equal(c.choices[0].message.role, "assistant");
  assert.ok(c.choices[0].message.content.length > 0);
  assert.equal(c.usage.completion_tokens, 16);
});

test("streamed chat text equals the whole answer, with usage last", async () => {
  const request = { model: "stories260K", messages: [{ role: "user", content: "Hi" }], max_tokens: 20, temperature: 0 };
  const whole = await client.chat.completions.create(request);
  const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
  let text = "";
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.choices.length > 0) text += chunk.choices[0].delta.content ?? "";
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, whole.choices[0].message.content);
  assert.deepEqual(usage, whole.usage);
});

test("a stop string ends the text before it", async () => {
  const full = await client.completions.create({ model: "stories260K", prompt: "Once upon a time", max_tokens: 60, temperature: 0 });
  const text = full.choices[0].text;
  const cut = text.indexOf("Lily");
  assert.ok(cut > 0, text);
  const stopped = await client.completions.create({ model: "stories260K", prompt: "Once upon a time", max_tokens: 60, temperature: 0, stop: ["Lily"] });
  assert.equal(stopped.choices[0].text, text.slice(0, cut));
  assert.equal(stopped.choices[0].finish_reason, "stop");
});

test("the same seed reproduces a sampled text", async () => {
  const ask = (seed) => client.completions.create({ model: "stories260K", prompt: "Once", max_tokens: 30, temperature: 1, seed });
  const [a, b] = [await ask(5), await ask(5)];
  assert.equal(a.choices[0].text, b.choices[0].text);
});

test("a bad request is an APIError with status 400 and the field", async () => {
  await assert.rejects(
    client.completions.create({ model: "stories260K", prompt: "x", temperature: 7 }),
    (e) => e instanceof OpenAI.APIError && e.status === 400 && e.param === "temperature");
  await assert.rejects(
    client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }),
    (e) => e instanceof OpenAI.APIError && e.status === 400 && e.code === "model_not_found");
});

test("curl gets the same greedy text as the client library", async () => {
  const body = JSON.stringify({ model: "stories260K", prompt: "Once upon a time", max_tokens: 24, temperature: 0 });
  const viaCurl = JSON.parse(execFileSync("curl", ["-sS", "-H", "Content-Type: application/json", "-d", body, `${baseURL}/completions`]));
  const viaClient = await client.completions.create({ model: "stories260K", prompt: "Once upon a time", max_tokens: 24, temperature: 0 });
  assert.equal(viaCurl.choices[0].text, viaClient.choices[0].text);
  const sse = execFileSync("curl", ["-sSN", "-H", "Content-Type: application/json", "-d",
    JSON.stringify({ model: "stories260K", prompt: "Once upon a time", max_tokens: 24, temperature: 0, stream: true }),
    `${baseURL}/completions`]).toString();
  const events = sse.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
  assert.equal(events.at(-1), "[DONE]");
  const text = events.slice(0, -1).map((e) => JSON.parse(e)).map((c) => c.choices[0]?.text ?? "").join("");
  assert.equal(text, viaClient.choices[0].text);
});
