import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { builtWorkerExecArgv } from "./exec-argv.js";

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
