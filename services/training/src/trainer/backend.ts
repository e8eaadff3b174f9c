/**
 * Chooses the TensorFlow.js backend of this process (or worker thread): the fastest that
 * loads, best first: tfjs-node-gpu, tfjs-node (both register "tensorflow"), wasm, cpu.
 *
 * The native packages are optional dependencies whose install downloads libtensorflow; where
 * that failed they are absent (or their binding does not load) and we fall back quietly.
 *
 * Measured here (2 busy CPUs, Node 20, samples/s of the batch loop, medians of epochs):
 *
 *     model, batch                      wasm (SIMD, 1 thread)   cpu
 *     Iris 4→16 relu→3, Adam, 16        15k–22k                 20k–22k
 *     Iris 4→16 relu→3, Adam, 105       160k                    80k–110k
 *     20→64→64→1, Adam, 32              21k–26k                 7k–9k
 *     20→64→64→1, Adam, 256             64k–72k                 17k–19k
 *
 * Tiny batches are bound by per-op overhead, where the two are even; wasm is 2.5–4× faster
 * as soon as the matrices have some size, hence wasm before cpu.
 */
import { createRequire } from "node:module";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";

/** Backend names `selectBackend` may activate. */
export type BackendName = "tensorflow" | "wasm" | "cpu";

export const backendNames: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

// Both native packages register the backend "tensorflow"; the GPU build is tried first.
const nativePackages = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

let wasmPathsSet = false;

async function tryNative(): Promise<boolean> {
  for (const specifier of nativePackages) {
    try {
      // A variable specifier: the packages are optional, TypeScript must not resolve them.
      const name: string = specifier;
      await import(name);
    } catch {
      continue;
    }
    if (tf.findBackend("tensorflow") !== null && (await tf.setBackend("tensorflow"))) return true;
  }
  return false;
}

async function tryWasm(): Promise<boolean> {
  try {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    if (!wasmPathsSet) {
      // In Node the backend reads its .wasm binaries from disk: point it at the package's
      // dist directory. Threads need a worker setup that Node lacks (tfjs issue 3830).
      const require = createRequire(import.meta.url);
      const binary = require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm");
      wasm.setWasmPaths(`${path.dirname(binary)}${path.sep}`);
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
      wasmPathsSet = true;
    }
    return await tf.setBackend("wasm");
  } catch {
    return false;
  }
}

async function tryBackend(name: BackendName): Promise<boolean> {
  switch (name) {
    case "tensorflow":
      return tryNative();
    case "wasm":
      return tryWasm();
    case "cpu":
      return tf.setBackend("cpu");
  }
}

/**
 * Activates the first backend that loads, `preferred` first, then tensorflow (GPU build,
 * then CPU build), wasm, cpu, and returns the active one's name (`tf.getBackend()`). Also
 * switches TF.js to production mode, which silences its console advice. Never throws for a
 * backend that cannot load; rejects only if even cpu fails.
 */
export async function selectBackend(preferred?: BackendName): Promise<string> {
  tf.enableProdMode();
  const order =
    preferred === undefined ? backendNames : [preferred, ...backendNames.filter((b) => b !== preferred)];
  for (const name of order) {
    if (await tryBackend(name)) {
      await tf.ready();
      return tf.getBackend();
    }
  }
  throw new Error("no TensorFlow.js backend could be initialized");
}
