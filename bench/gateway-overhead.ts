/**
 * Gateway overhead: GetModel through the gateway (Connect JSON over HTTP/1.1, and gRPC)
 * against the same call straight to the registry over grpc-js, at concurrency 1 and 32.
 * Both gRPC paths use the same client (a Connect client on the kit's grpc-js transport).
 * Connect JSON's target figure uses a plain kept-alive HTTP/1.1 POST, as curl or a
 * browser's fetch sends it; connect-node's own client is measured beside it (no target),
 * since its per-call pipeline costs the caller a few hundred µs that the gateway does not.
 * The suite runs as `seam up` in a child process; the load comes from this process, in
 * interleaved rounds (BENCH_ROUNDS, default 6) sharing BENCH_DURATION_MS per path.
 *
 * Targets (issue 2): at concurrency 1 the gateway adds at most 0.5 ms to p50;
 * at concurrency 32 its throughput is at least half of the direct path.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ANY_FREE_PORTS, SEAM_NODE_FLAGS } from "@seam/cli";
import { createGrpcTransport } from "@seam/kit/hosting";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { resultLine } from "./support/results.js";

/** What the load needs of a client: GetModel, and closing its connections. */
interface Caller {
  getModel(request: { name: string }): Promise<unknown>;
  close(): void;
}

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const WARMUP_CALLS = 500;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const ADDED_P50_BUDGET_MS = 0.5;
const MIN_THROUGHPUT_RATIO = 0.5;

interface Measurement {
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
  readonly calls: number;
}

async function main(): Promise<void> {
  const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const dir = await mkdtemp(join(tmpdir(), "seam-bench-"));
  const seam = spawn(process.execPath, [...SEAM_NODE_FLAGS, join(repoRoot, "cli", "dist", "main.js"), "up"], {
    env: {
      ...process.env,
      SEAM_DATA_DIR: dir,
      ...ANY_FREE_PORTS,
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const { gatewayUrl, registryAddress } = await waitForAddresses(seam.stdout);
    const gatewayAddress = new URL(gatewayUrl).host;
    const grpcTransport = createGrpcTransport({ address: registryAddress, retry: false });
    await createClient(ModelRegistryService, grpcTransport).createModel({
      name: "bench-model",
      description: "gateway overhead benchmark",
      tags: { a: "b" },
    });
    // Same client library for both gRPC paths, so the difference is the gateway hop alone.
    // Connect JSON is measured twice: with the plain keep-alive HTTP/1.1 POST that curl or
    // a browser's fetch sends (the target figure: what the gateway adds, not a client
    // library), and with connect-node's own client, whose pipeline costs a few hundred µs
    // of the caller's CPU per call (printed, no target).
    const paths: Array<[string, Caller]> = [
      ["direct grpc-js", connectClient(grpcTransport)],
      ["gateway gRPC", connectClient(createGrpcTransport({ address: gatewayAddress, retry: false }))],
      ["gateway Connect JSON", plainJsonClient(gatewayUrl)],
      [
        "gateway Connect JSON, connect-node client",
        connectClient(
          createConnectTransport({ baseUrl: gatewayUrl, httpVersion: "1.1", useBinaryFormat: false }),
        ),
      ],
    ];
    const results = new Map<string, Measurement>();
    for (const concurrency of [1, 32]) {
      for (const [, registry] of paths) await warmUp(registry);
      // Short rounds of each path in turn: drifting load on a shared machine then
      // weighs on every path alike instead of on whichever ran during it.
      const pooled = new Map(paths.map(([name]) => [name, { latencies: [] as number[], seconds: 0 }]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, registry] of paths) {
          const sample = pooled.get(name) as { latencies: number[]; seconds: number };
          sample.seconds += await measureRound(registry, concurrency, DURATION_MS / ROUNDS, sample.latencies);
        }
      }
      for (const [name] of paths) {
        const { latencies, seconds } = pooled.get(name) as { latencies: number[]; seconds: number };
        const m = summarize(latencies, seconds);
        results.set(`${name}@${concurrency}`, m);
        console.log(
          `${name.padEnd(42)} c=${String(concurrency).padStart(2)}  p50 ${m.p50.toFixed(3)} ms  p99 ${m.p99.toFixed(3)} ms  ${m.rps.toFixed(0)} req/s  (${m.calls} calls)`,
        );
      }
    }
    for (const [, caller] of paths) caller.close();
    await printFloor(repoRoot);

    const get = (key: string): Measurement => results.get(key) as Measurement;
    const d1 = get("direct grpc-js@1");
    const d32 = get("direct grpc-js@32");
    console.log("");
    for (const [label, key] of [
      ["grpc", "gateway gRPC"],
      ["connect_json", "gateway Connect JSON"],
    ] as const) {
      const g1 = get(`${key}@1`);
      const added = g1.p50 - d1.p50;
      console.log(
        `gateway ${label}: adds ${added.toFixed(3)} ms to p50 at c=1 (budget ${ADDED_P50_BUDGET_MS} ms)`,
      );
      result(
        `gateway_${label}_p50_c1`,
        g1.p50,
        "ms",
        d1.p50,
        `value-ref<=${ADDED_P50_BUDGET_MS}ms`,
        added <= ADDED_P50_BUDGET_MS,
      );
    }
    for (const [label, key] of [
      ["grpc", "gateway gRPC"],
      ["connect_json", "gateway Connect JSON"],
    ] as const) {
      const g32 = get(`${key}@32`);
      result(
        `gateway_${label}_throughput_c32`,
        g32.rps,
        "req/s",
        d32.rps,
        `ratio>=${MIN_THROUGHPUT_RATIO}`,
        g32.rps / d32.rps >= MIN_THROUGHPUT_RATIO,
      );
    }
  } finally {
    seam.kill("SIGTERM");
    await new Promise((resolve) => seam.once("exit", resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * What the gateway's stack costs before any of Seam's code: the p50 of a bare
 * connect-node server and of a bare grpc-js server answering a constant. Their
 * difference plus one grpc-js round trip is the least a connect-node gateway
 * forwarding over grpc-js can add on this machine.
 */
async function printFloor(repoRoot: string): Promise<void> {
  const floor = spawn(
    process.execPath,
    [...SEAM_NODE_FLAGS, join(repoRoot, "bench", "dist", "floor-servers.js")],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  try {
    const ports = await new Promise<{ grpcjs: string; connect: string }>((resolve, reject) => {
      let text = "";
      const timer = setTimeout(() => reject(new Error(`floor servers did not start:\n${text}`)), 30_000);
      floor.stdout.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        const grpcjs = text.match(/grpcjs (\d+)/)?.[1];
        const connect = text.match(/connect (\d+)/)?.[1];
        if (grpcjs !== undefined && connect !== undefined) {
          clearTimeout(timer);
          resolve({ grpcjs, connect });
        }
      });
    });
    const bareGrpcTransport = createGrpcTransport({ address: `127.0.0.1:${ports.grpcjs}`, retry: false });
    const bareConnectTransport = createGrpcTransport({ address: `127.0.0.1:${ports.connect}`, retry: false });
    const bareGrpcClient = connectClient(bareGrpcTransport);
    const bareConnectClient = connectClient(bareConnectTransport);
    const bareGrpc = await measure(bareGrpcClient, 1);
    const bareConnect = await measure(bareConnectClient, 1);
    bareGrpcClient.close();
    bareConnectClient.close();
    // connect-node's extra cost over grpc-js, plus one grpc-js round trip to the backend.
    const floorMs = bareConnect.p50;
    console.log("");
    console.log(
      `floor: bare grpc-js server p50 ${bareGrpc.p50.toFixed(3)} ms, bare connect-node server p50 ${bareConnect.p50.toFixed(3)} ms`,
    );
    console.log(
      `floor: a connect-node gateway forwarding over grpc-js adds at least ~${floorMs.toFixed(3)} ms here ` +
        `(connect-node's extra ${(bareConnect.p50 - bareGrpc.p50).toFixed(3)} ms + one grpc-js round trip ${bareGrpc.p50.toFixed(3)} ms)`,
    );
  } finally {
    floor.kill("SIGTERM");
    await new Promise((resolve) => floor.once("exit", resolve));
  }
}

async function warmUp(registry: Caller): Promise<void> {
  for (let i = 0; i < WARMUP_CALLS; i++) await registry.getModel({ name: "bench-model" });
}

// Runs `concurrency` callers for `durationMs`, appending each call's latency; returns the seconds taken.
async function measureRound(
  registry: Caller,
  concurrency: number,
  durationMs: number,
  latencies: number[],
): Promise<number> {
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await registry.getModel({ name: "bench-model" });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

function connectClient(transport: Transport & { close?: () => void }): Caller {
  const registry = createClient(ModelRegistryService, transport);
  return { getModel: (request) => registry.getModel(request), close: () => transport.close?.() };
}

/** A Connect unary JSON call as curl sends it: one POST on a kept-alive HTTP/1.1 connection. */
function plainJsonClient(baseUrl: string): Caller {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL("/seam.registry.v1.ModelRegistryService/GetModel", baseUrl);
  const getModel = (message: { name: string }): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(message);
      const request = http.request(
        url,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode === 200) resolve(JSON.parse(text));
            else reject(new Error(`GetModel answered HTTP ${res.statusCode}: ${text}`));
          });
        },
      );
      request.on("error", reject);
      request.end(body);
    });
  return { getModel, close: () => agent.destroy() };
}

function summarize(latencies: number[], seconds: number): Measurement {
  latencies.sort((a, b) => a - b);
  const at = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), rps: latencies.length / seconds, calls: latencies.length };
}

async function measure(registry: Caller, concurrency: number): Promise<Measurement> {
  await warmUp(registry);
  const latencies: number[] = [];
  const seconds = await measureRound(registry, concurrency, DURATION_MS, latencies);
  return summarize(latencies, seconds);
}

function result(name: string, value: number, unit: string, ref: number, target: string, met: boolean): void {
  console.log(resultLine(name, value, unit, ref, target, met));
}

function waitForAddresses(
  stdout: NodeJS.ReadableStream,
): Promise<{ gatewayUrl: string; registryAddress: string }> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`seam up did not start:\n${text}`)), 30_000);
    stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const gateway = text.match(/gateway\s+(http:\/\/[\d.]+:\d+)/);
      const registry = text.match(/registry\s+([\d.]+:\d+)/);
      if (gateway?.[1] !== undefined && registry?.[1] !== undefined) {
        clearTimeout(timer);
        resolve({ gatewayUrl: gateway[1], registryAddress: registry[1] });
      }
    });
  });
}

await main();
