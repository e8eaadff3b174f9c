import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LmdbMetaStore } from "./lmdb-meta-store.js";
import { updateWithRetry } from "./update-with-retry.js";

const CHILD = fileURLToPath(new URL("./fixtures/lmdb-counter-child.ts", import.meta.url));
const VITE_NODE = join(
  createRequire(import.meta.url).resolve("vite-node/package.json"),
  "..",
  "vite-node.mjs",
);

/** Runs the child fixture; resolves with what it reports. */
function runChild(dir: string, times: number, name: string): Promise<{ conflicts: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITE_NODE, CHILD, dir, String(times), name], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`child exited with ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { conflicts: number });
    });
  });
}

describe("LmdbMetaStore across processes", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "seam-lmdb-2p-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("loses no compare-and-set increment when two other processes increment the same key", async () => {
    const perWriter = 150;
    const store = new LmdbMetaStore(dir);
    try {
      const increment = () =>
        updateWithRetry(
          store,
          ["counter"],
          ([c]) => ({
            puts: [{ key: "counter", value: Buffer.from(String(Number(c?.toString() ?? "0") + 1)) }],
            result: undefined,
          }),
          { attempts: 1000 },
        );
      const children = [runChild(dir, perWriter, "a"), runChild(dir, perWriter, "b")];
      // Start together: wait until both children are ready, then say go.
      while ((await store.list({ prefix: "ready/" })).length < 2) await sleep(10);
      await store.commit({ puts: [{ key: "go", value: Buffer.from("1") }] });
      for (let i = 0; i < perWriter; i++) await increment();
      const reports = await Promise.all(children);
      expect((await store.get("counter"))?.toString()).toBe(String(3 * perWriter));
      // The children lost some races, so the writers really did overlap.
      expect(reports.reduce((sum, r) => sum + r.conflicts, 0)).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  }, 120_000);
});
