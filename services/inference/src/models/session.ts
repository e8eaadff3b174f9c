import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { InferenceSession, Tensor } from "onnxruntime-node";
import {
  allocateElements,
  ELEMENT_TYPES,
  type ElementType,
  type TensorData,
  type TensorElements,
} from "../tensors/tensor-data.js";
import type { TensorSpec } from "../tensors/validate.js";

/** Where ONNX Runtime runs: CUDA when asked or (auto) when its provider is installed, else CPU. */
export type ExecutionProviderChoice = "auto" | "cpu" | "cuda";

/** How sessions are opened; from the process config. */
export interface SessionOptions {
  readonly executionProvider: ExecutionProviderChoice;
  /** Threads for one operator; 0 lets ONNX Runtime choose. */
  readonly intraOpThreads: number;
  /** Threads across operators; 0 lets ONNX Runtime choose. */
  readonly interOpThreads: number;
}

/** An open session and the provider it actually runs on. */
export interface OpenedSession {
  readonly session: InferenceSession;
  readonly provider: "cpu" | "cuda";
}

/**
 * Opens an ONNX Runtime session on the model bytes. "auto" tries CUDA only where
 * onnxruntime-node's CUDA provider library was installed (`ONNXRUNTIME_NODE_INSTALL=cuda12`
 * on a GPU host) and falls back to CPU if it cannot start; "cuda" fails instead.
 */
export async function openSession(model: Uint8Array, options: SessionOptions): Promise<OpenedSession> {
  const base: InferenceSession.SessionOptions = {
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
    ...(options.intraOpThreads > 0 ? { intraOpNumThreads: options.intraOpThreads } : {}),
    ...(options.interOpThreads > 0 ? { interOpNumThreads: options.interOpThreads } : {}),
  };
  const wantCuda =
    options.executionProvider === "cuda" || (options.executionProvider === "auto" && cudaProviderInstalled());
  if (wantCuda) {
    try {
      const session = await InferenceSession.create(model, { ...base, executionProviders: ["cuda", "cpu"] });
      return { session, provider: "cuda" };
    } catch (error) {
      if (options.executionProvider === "cuda") throw error;
    }
  }
  const session = await InferenceSession.create(model, { ...base, executionProviders: ["cpu"] });
  return { session, provider: "cpu" };
}

let cudaInstalled: boolean | undefined;

/** Whether onnxruntime-node's CUDA provider library sits beside its binding. */
export function cudaProviderInstalled(): boolean {
  if (cudaInstalled === undefined) {
    try {
      const require = createRequire(import.meta.url);
      const root = dirname(require.resolve("onnxruntime-node/package.json"));
      const binDir = join(root, "bin", `napi-v6`, process.platform, process.arch);
      cudaInstalled = existsSync(join(binDir, "libonnxruntime_providers_cuda.so"));
    } catch {
      cudaInstalled = false;
    }
  }
  return cudaInstalled;
}

/** Runs the session on inputs in the model's order; returns every output in its order. */
export async function runSession(
  session: InferenceSession,
  inputs: readonly TensorData[],
  outputs: readonly TensorSpec[],
): Promise<TensorData[]> {
  const feeds: Record<string, Tensor> = {};
  for (const input of inputs) feeds[input.name] = new Tensor(input.type, input.data, input.dims);
  const results = await session.run(feeds);
  return outputs.map((spec) => {
    const tensor = results[spec.name];
    if (tensor === undefined) throw new Error(`the session returned no output "${spec.name}"`);
    return fromOrtTensor(spec.name, tensor);
  });
}

/** Runs the model once on zeros (one row) so the first real request does not pay for set-up. */
export async function warmUp(
  session: InferenceSession,
  inputs: readonly TensorSpec[],
  outputs: readonly TensorSpec[],
): Promise<void> {
  const zeros = inputs.map((spec): TensorData => {
    const dims = spec.dims.map((d) => (d < 0 ? 1 : d));
    const length = dims.reduce((a, b) => a * b, 1);
    return { name: spec.name, type: spec.type, dims, data: allocateElements(spec.type, length) };
  });
  await runSession(session, zeros, outputs);
}

function fromOrtTensor(name: string, tensor: Tensor): TensorData {
  const type = tensor.type;
  if (!(ELEMENT_TYPES as readonly string[]).includes(type)) {
    throw new Error(`output "${name}" has element type ${type}, which this server does not return`);
  }
  return {
    name,
    type: type as ElementType,
    dims: tensor.dims.map(Number),
    data: tensor.data as TensorElements,
  };
}
