import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { builtWorkerExecArgv, startWorker } from "./exec-argv.js";

describe("builtWorkerExecArgv", () => {
  it("drops every form of --conditions and keeps the other flags", () => {
    expect(
      builtWorkerExecArgv([
        "--conditions",
        "source",
        "--enable-source-maps",
        "-C",
        "x",
        "--conditions=y",
        "-C=z",
        "--import",
        "a",
      ]),
    ).toEqual(["--enable-source-maps", "--import", "a"]);
  });

  it("drops the parent's own script and --input-type, so a worker started from `node -e` runs its file", async () => {
    const parent = [
      "--input-type=module",
      "-e",
      "import x from 'y'",
      "--eval=1",
      "-p",
      "2",
      "--input-type",
      "commonjs",
    ];
    expect(builtWorkerExecArgv([...parent, "--enable-source-maps"])).toEqual(["--enable-source-maps"]);
    const dir = await mkdtemp(join(tmpdir(), "seam-exec-argv-"));
    try {
      const entry = join(dir, "entry.mjs");
      await writeFile(
        entry,
        "import { parentPort } from 'node:worker_threads'; parentPort.postMessage('up');",
      );
      const worker = startWorker(entry, {}, parent);
      await expect(
        new Promise((resolve, reject) => worker.once("message", resolve).once("error", reject)),
      ).resolves.toBe("up");
      await worker.terminate();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("drops the per-process V8 flags a Worker refuses, so a sized heap does not break workers", async () => {
    const parent = [
      "--max-old-space-size=4096",
      "--max_semi_space_size=32",
      "--stack-size",
      "2000",
      "--expose-gc",
      "--title=seam",
      "--enable-source-maps",
    ];
    const argv = builtWorkerExecArgv(parent);
    expect(argv).toEqual(["--enable-source-maps"]);
    const worker = new Worker("require('node:worker_threads').parentPort.postMessage('up')", {
      eval: true,
      execArgv: argv,
    });
    await expect(new Promise((resolve) => worker.once("message", resolve))).resolves.toBe("up");
    await worker.terminate();
  });
});

describe("startWorker", () => {
  const echo = "require('node:worker_threads').parentPort.postMessage(process.execArgv)";
  const firstMessage = (worker: Worker) => new Promise((resolve) => worker.once("message", resolve));

  it("starts without the flags Node refuses in a worker, whatever they are, and keeps the rest", async () => {
    // None of these is in builtWorkerExecArgv's list; Node refuses each in a Worker.
    const parent = [
      "--trace-gc",
      "--stack-trace-limit=50",
      "--abort-on-uncaught-exception",
      "--enable-source-maps",
      "--perf-basic-prof",
    ];
    expect(() => new Worker(echo, { eval: true, execArgv: builtWorkerExecArgv(parent) })).toThrow(
      /invalid execArgv flags/,
    );
    const worker = startWorker(echo, { eval: true }, parent);
    await expect(firstMessage(worker)).resolves.toEqual(["--enable-source-maps"]);
    await worker.terminate();
    // Learned once: the next worker starts on the kept flags straight away.
    const next = startWorker(echo, { eval: true }, parent);
    await expect(firstMessage(next)).resolves.toEqual(["--enable-source-maps"]);
    await next.terminate();
  });

  it("still throws errors that are not about refused flags", () => {
    // A bare file name is neither absolute nor ./-relative: Node's ERR_WORKER_PATH.
    expect(() => startWorker("worker-entry.js", {}, ["--trace-gc"])).toThrow(
      expect.objectContaining({ code: "ERR_WORKER_PATH" }),
    );
  });
});
