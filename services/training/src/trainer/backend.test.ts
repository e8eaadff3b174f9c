import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { backendNames, selectBackend } from "./backend.js";

function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

describe("selectBackend", () => {
  it("activates the best backend that loads: wasm where the native packages are absent", async () => {
    const backend = await selectBackend();
    expect(backend).toBe(tf.getBackend());
    expect(backendNames).toContain(backend);
    if (!installed("@tensorflow/tfjs-node") && !installed("@tensorflow/tfjs-node-gpu"))
      expect(backend).toBe("wasm");
    expect(tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0])).toBe(11);
  });

  it("tries the preferred backend first and can switch back and forth", async () => {
    expect(await selectBackend("cpu")).toBe("cpu");
    expect(await selectBackend("wasm")).toBe("wasm");
    // Not installed here: falls through to the default order.
    if (!installed("@tensorflow/tfjs-node")) expect(await selectBackend("tensorflow")).toBe("wasm");
  });
});
