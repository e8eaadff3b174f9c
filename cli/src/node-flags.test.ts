import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SEAM_NODE_FLAGS } from "./node-flags.js";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const read = (path: string): string => readFileSync(join(repoRoot, path), "utf8");
const flags = SEAM_NODE_FLAGS.join(" ");

describe("SEAM_NODE_FLAGS", () => {
  it("are what every launcher starts node with", () => {
    expect(read("cli/bin/seam.js").split("\n")[0]).toBe(`#!/usr/bin/env -S node ${flags}`);
    const scripts = JSON.parse(read("package.json")).scripts as Record<string, string>;
    expect(scripts.start).toBe(`node ${flags} cli/bin/seam.js up`);
    const entrypoint = `ENTRYPOINT ${JSON.stringify(["node", ...SEAM_NODE_FLAGS, "cli/bin/seam.js"]).replaceAll(",", ", ")}`;
    for (const dockerfile of ["deploy/Dockerfile", "deploy/Dockerfile.gpu"]) {
      const entrypoints = read(dockerfile)
        .split("\n")
        .filter((line) => line.startsWith("ENTRYPOINT"));
      expect(entrypoints.length, dockerfile).toBeGreaterThan(0);
      for (const line of entrypoints) expect(line, dockerfile).toBe(entrypoint);
    }
  });

  it("are accepted by this node, and the executable runs through its shebang", () => {
    const heapLimit = execFileSync(
      process.execPath,
      [...SEAM_NODE_FLAGS, "-p", "require('node:v8').getHeapStatistics().total_heap_size > 0"],
      { encoding: "utf8" },
    );
    expect(heapLimit.trim()).toBe("true");
    // Run as a program (the kernel reads `#!/usr/bin/env -S node …`), as npm's bin link does.
    const help = execFileSync(join(repoRoot, "cli", "bin", "seam.js"), ["help"], { encoding: "utf8" });
    expect(help).toContain("seam up");
  });
});
