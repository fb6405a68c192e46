// llamacpp_node.mjs — times llama.cpp (the prebuilt build inside the npm package node-llama-cpp) the
// way `llama-bench` does, for bench/compare_llamacpp.sh: prefill of a PROMPT-token prompt and GEN
// decode steps from an empty context, each step one token evaluated on its own with its logits
// computed but nothing sampled (the next input is a fixed token id). CPU only, no GPU offload.
//
//   node bench/llamacpp_node.mjs MODEL.gguf THREADS PROMPT GEN
//   -> one JSON line: {"prefill_tok_s", "decode_tok_s", "peak_rss_mb", "threads", "prompt", "gen"}
//
// node-llama-cpp is loaded from NODE_LLAMA_CPP_DIR (its package folder in the script's cache folder,
// never the repository): ES modules ignore NODE_PATH.
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const pkg = process.env.NODE_LLAMA_CPP_DIR;
const { getLlama } = await import(pkg ? pathToFileURL(join(pkg, "dist", "index.js")).href : "node-llama-cpp");

const [modelPath, threadsArg, promptArg, genArg] = process.argv.slice(2);
if (!modelPath || !threadsArg || !promptArg || !genArg) {
    console.error("usage: node llamacpp_node.mjs MODEL.gguf THREADS PROMPT GEN");
    process.exit(2);
}
const threads = Number(threadsArg), nPrompt = Number(promptArg), nGen = Number(genArg);
const llama = await getLlama({ gpu: false, build: "never", maxThreads: threads, logLevel: "error" });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
// ids in [100, 31900): past the special tokens at the start of the vocabulary, inside any vocabulary
// of 32000 or more (the benchmark's TinyLlama dimensions)
const ids = Array.from({ length: Math.max(nPrompt, nGen) + 1 }, (_, i) => 100 + ((i * 7919) % 31800));
const logitsOnly = { generateNext: { logits: { filter: { tokens: [0] } } } };

async function freshSequence() {
    const context = await model.createContext({
        contextSize: 1024, batchSize: 512, threads, sequences: 1,
    });
    return { context, seq: context.getSequence() };
}

// prefill: the whole prompt in one batch, logits of its last row only (as a generation needs)
let { context, seq } = await freshSequence();
const prompt = ids.slice(0, nPrompt).map((t, i) => (i === nPrompt - 1 ? [t, logitsOnly] : t));
let t0 = process.hrtime.bigint();
await seq.controlledEvaluate(prompt);
const prefillS = Number(process.hrtime.bigint() - t0) / 1e9;
await context.dispose();

// decode from an empty context: GEN single-token steps
({ context, seq } = await freshSequence());
await seq.controlledEvaluate([[ids[0], logitsOnly]]); // warm-up step (llama-bench also warms up)
await seq.clearHistory();
t0 = process.hrtime.bigint();
for (let i = 0; i < nGen; i++)
    await seq.controlledEvaluate([[ids[i], logitsOnly]]);
const decodeS = Number(process.hrtime.bigint() - t0) / 1e9;
await context.dispose();
await model.dispose();

console.log(JSON.stringify({
    prefill_tok_s: nPrompt / prefillS,
    decode_tok_s: nGen / decodeS,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    threads, prompt: nPrompt, gen: nGen,
}));
