import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { OtlpReceiver, SPAN_KIND } from "../testing/otlp-receiver.js";

// These tests run the BUILT preload in real child processes: the loader hook only
// exists at process start, so it cannot be exercised inside the test process.
const here = dirname(fileURLToPath(import.meta.url));
const kitRoot = join(here, "..", "..");
const registerJs = join(kitRoot, "dist", "telemetry", "register.js");
const roundtripFixture = join(here, "testdata", "grpc-roundtrip.mjs");
const noHookPreload = join(here, "testdata", "preload-without-hook.mjs");

interface ChildResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs a fixture, waits for its first stdout line, sends SIGTERM and waits for the exit. */
function runUntilReadyThenTerminate(args: string[], env: Record<string, string>): Promise<ChildResult> {
  const child: ChildProcess = spawn(process.execPath, args, { env: { ...cleanEnv(), ...env }, cwd: kitRoot });
  let stdout = "";
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes("\n")) child.kill("SIGTERM");
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`fixture timed out; stderr: ${stderr}`));
    }, 20_000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, signal });
    });
  });
}

// The test runner's own OTEL_* settings must not leak into the children.
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("OTEL_") && key !== "NODE_OPTIONS") env[key] = value;
  }
  return env;
}

beforeAll(() => {
  // Incremental, so cheap when `npm test` already built; keeps the child off stale output.
  // Type errors elsewhere in the kit do not stop tsc -b from emitting, hence no throw on status.
  try {
    execFileSync(process.execPath, [require_tsc(), "-b", join(kitRoot, "tsconfig.json")], { stdio: "pipe" });
  } catch {
    // checked below
  }
  if (!existsSync(registerJs)) throw new Error(`build did not produce ${registerJs}`);
});

function require_tsc(): string {
  return join(kitRoot, "..", "..", "node_modules", "typescript", "bin", "tsc");
}

describe("register.js preload", () => {
  let receiver: OtlpReceiver;
  afterEach(async () => {
    await receiver.close();
  });

  it("exports linked grpc-js client and server spans from an ESM process, flushed on SIGTERM", async () => {
    receiver = new OtlpReceiver();
    const endpoint = await receiver.listen();

    const result = await runUntilReadyThenTerminate(
      ["--import", pathToFileURL(registerJs).href, roundtripFixture],
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "telemetry-test",
      },
    );

    expect(result.stdout).toContain('"reply":"echo:hi"');
    // No application SIGTERM handler: the preload flushes, then re-raises the signal.
    expect(result.signal).toBe("SIGTERM");
    const rpcSpans = receiver.spans.filter((s) => s.name.includes("seam.test.v1.EchoService/Echo"));
    const server = rpcSpans.find((s) => s.kind === SPAN_KIND.SERVER);
    const client = rpcSpans.find((s) => s.kind === SPAN_KIND.CLIENT);
    expect(server, JSON.stringify(receiver.spans)).toBeDefined();
    expect(client, JSON.stringify(receiver.spans)).toBeDefined();
    expect(server?.traceId).toBe(client?.traceId);
    expect(server?.parentSpanId).toBe(client?.spanId);
    expect(server?.serviceName).toBe("telemetry-test");
  });

  it("without the ESM hook, an SDK that exports fine sees no grpc-js spans", async () => {
    receiver = new OtlpReceiver();
    const endpoint = await receiver.listen();

    const result = await runUntilReadyThenTerminate(
      ["--import", pathToFileURL(noHookPreload).href, roundtripFixture],
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      },
    );

    expect(result.stdout).toContain('"reply":"echo:hi"');
    expect(receiver.spans.map((s) => s.name)).toContain("control");
    expect(receiver.spans.filter((s) => s.name.includes("EchoService"))).toEqual([]);
  });

  it("exports OTLP protobuf by default, to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given", async () => {
    receiver = new OtlpReceiver();
    const endpoint = await receiver.listen();

    const result = await runUntilReadyThenTerminate(
      ["--import", pathToFileURL(registerJs).href, roundtripFixture],
      {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/v1/traces`,
      },
    );

    expect(result.stdout).toContain('"reply":"echo:hi"');
    expect(receiver.contentTypes).not.toEqual([]);
    expect(receiver.contentTypes.every((type) => type === "application/x-protobuf")).toBe(true);
  });

  it("with no endpoint set, exports nothing, and the process works and still exits on SIGTERM", async () => {
    receiver = new OtlpReceiver();
    await receiver.listen();

    const result = await runUntilReadyThenTerminate(
      ["--import", pathToFileURL(registerJs).href, roundtripFixture],
      {
        OTEL_SERVICE_NAME: "telemetry-test",
      },
    );

    expect(result.stdout).toContain('"reply":"echo:hi"');
    expect(result.signal).toBe("SIGTERM");
    expect(result.stderr).toBe("");
    expect(receiver.requests).toBe(0);
  });
});
