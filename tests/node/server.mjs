// server.mjs — starting and stopping `npugen serve` for the Node tests: a free loopback port (--port 0,
// read back from the "listening on" line), and a kill at the end. NPG_CLI and NPG_SHARED_DIR name the
// binary and ../shared (the ctest wrapper sets them).
import { spawn } from "node:child_process";
import path from "node:path";

export const CLI = process.env.NPG_CLI;
export const SHARED = process.env.NPG_SHARED_DIR;
if (!CLI || !SHARED) throw new Error("set NPG_CLI (the npugen binary) and NPG_SHARED_DIR (../shared)");
export const model = (name) => path.join(SHARED, "models", name);

export async function startServer(args, { timeoutMs = 60000 } = {}) {
  const proc = spawn(CLI, ["serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  proc.stderr.on("data", (d) => { err += d; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server did not start: " + err)), timeoutMs);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^ ]+\/)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}): ${err}`)); });
  });
  proc.removeAllListeners("exit");
  return {
    url, proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      const done = new Promise((resolve) => proc.on("exit", (code, sig) => resolve(code ?? sig)));
      proc.kill("SIGTERM");
      return done;
    },
  };
}

// One Prometheus sample's value: `name` with its labels, as the line spells them.
export function metric(text, name) {
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}
