import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ANY_FREE_PORTS } from "@seam/cli";
import { type RedisServer, startRedisServer } from "@seam/kit/testing";
import { type SeamProcess, startSeam } from "./seam-process.js";

/**
 * How the suite runs for an end-to-end test:
 * - "embedded": `seam up`, one process, LMDB and local files;
 * - "redis": `seam up` on a private redis-server;
 * - "distributed": every service its own process on a private redis-server, as in
 *   production: registry, datasets, features, training (accepting jobs only) with two
 *   `seam worker training` processes, two inference replicas, and the gateway spreading
 *   calls over both replicas.
 */
export type Layout = "embedded" | "redis" | "distributed";

/** A running suite: where the gateway is, and its processes. */
export interface Suite {
  readonly layout: Layout;
  readonly gatewayUrl: string;
  /** Every process by role ("up", or "registry", "inference-1", "training-worker-2", ...). */
  readonly processes: ReadonlyMap<string, SeamProcess>;
  /** gRPC address (host:port) of each service process by role ("distributed" only). */
  readonly addresses: ReadonlyMap<string, string>;
  /** The shared data directory (under a temp dir removed on stop). */
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  /** Stops every process (SIGTERM, gateway first) and Redis; resolves with the exit codes. */
  stop(): Promise<Map<string, number | null>>;
}

const QUIET = { LOG_LEVEL: "warn" };

/** Starts the suite in `layout`; `env` is added to every process's environment. */
export async function startSuite(layout: Layout, env: Record<string, string> = {}): Promise<Suite> {
  const dir = await mkdtemp(join(tmpdir(), `seam-suite-${layout}-`));
  const dataDir = join(dir, "data");
  const redis: RedisServer | undefined = layout === "embedded" ? undefined : await startRedisServer();
  const processes = new Map<string, SeamProcess>();
  const addresses = new Map<string, string>();
  const base = {
    ...QUIET,
    SEAM_DATA_DIR: dataDir,
    ...(redis === undefined ? {} : { REDIS_URL: redis.url }),
    ...env,
  };
  const stop = async (): Promise<Map<string, number | null>> => {
    const codes = new Map<string, number | null>();
    // Outside door first, then the services, as an orchestrator would drain them.
    const order = [...processes.keys()].sort((a, b) => Number(b === "gateway") - Number(a === "gateway"));
    const gateway = order[0] === "gateway" ? order.shift() : undefined;
    if (gateway !== undefined) codes.set(gateway, await (processes.get(gateway) as SeamProcess).stop());
    await Promise.all(
      order.map(async (role) => codes.set(role, await (processes.get(role) as SeamProcess).stop())),
    );
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
    return codes;
  };
  try {
    if (layout !== "distributed") {
      const up = startSeam(["up"], {
        ...base,
        ...ANY_FREE_PORTS,
      });
      processes.set("up", up);
      const gatewayUrl = (await up.waitFor(/gateway\s+(http:\/\/127\.0\.0\.1:\d+)/))[1] as string;
      await up.waitFor(/inference\s+127\.0\.0\.1:\d+/);
      return { layout, gatewayUrl, processes, addresses, dataDir, redisUrl: redis?.url, stop };
    }
    const serve = async (role: string, args: string[], extra: Record<string, string>): Promise<string> => {
      // Info level: the address is in the "<service> listening" line.
      const proc = startSeam(args, { ...base, LOG_LEVEL: "info", ...extra });
      processes.set(role, proc);
      const match = await proc.waitFor(/"(?:address|url)":"((?:http:\/\/)?127\.0\.0\.1:\d+)"/, 30_000);
      addresses.set(role, match[1] as string);
      return match[1] as string;
    };
    const registry = await serve("registry", ["serve", "registry"], { REGISTRY_PORT: "0" });
    const datasets = await serve("datasets", ["serve", "datasets"], {
      DATASETS_PORT: "0",
      SEAM_REGISTRY_ADDRESS: registry,
    });
    const features = await serve("features", ["serve", "features"], {
      FEATURES_PORT: "0",
      SEAM_REGISTRY_ADDRESS: registry,
      SEAM_DATASETS_ADDRESS: datasets,
    });
    const wiring = {
      SEAM_REGISTRY_ADDRESS: registry,
      SEAM_DATASETS_ADDRESS: datasets,
      SEAM_FEATURES_ADDRESS: features,
    };
    const [training, inference1, inference2] = await Promise.all([
      serve("training", ["serve", "training"], { ...wiring, TRAINING_PORT: "0", TRAINING_WORKERS: "0" }),
      serve("inference-1", ["serve", "inference"], { ...wiring, INFERENCE_PORT: "0" }),
      serve("inference-2", ["serve", "inference"], { ...wiring, INFERENCE_PORT: "0" }),
    ]);
    // Started and ready before the suite is: a worker still loading when a test ends would
    // meet the suite's stop half set up.
    await Promise.all(
      [1, 2].map(async (n) => {
        const worker = startSeam(["worker", "training"], { ...base, ...wiring, LOG_LEVEL: "info" });
        processes.set(`training-worker-${n}`, worker);
        await worker.waitFor(/training worker ready/, 30_000);
      }),
    );
    const gatewayUrl = await serve("gateway", ["serve", "gateway"], {
      ...wiring,
      SEAM_TRAINING_ADDRESS: training as string,
      SEAM_INFERENCE_ADDRESS: `${inference1},${inference2}`,
      SEAM_GATEWAY_PORT: "0",
    });
    return { layout, gatewayUrl, processes, addresses, dataDir, redisUrl: redis?.url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
