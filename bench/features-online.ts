/**
 * Feature store speed on the Redis adapter (the feature store issue, "Speed"):
 *
 * - online: GetOnlineFeatures over gRPC (a grpc-js Connect client) for 1 and for 100
 *   entities × 10 features from 2 feature views, 16 closed-loop clients, in the columns
 *   layout with the entities as columns (the RESULT target lines; one EntityRow per entity and
 *   the rows layout follow as `*_rows_layout_p50`), against a
 *   baseline measured in the same run: the same keys read with a raw ioredis pipeline of
 *   HMGETs (one per entity, the fields the store reads) from this process. The grpc-js round
 *   trip of an empty call (grpc.health.v1.Health/Check on the features server, same
 *   concurrency) is measured too. Target: gRPC p50 ≤ 1.5 × raw p50 + empty-call p50.
 * - materialize: rows/s written into Redis by MaterializeFeatureView, next to raw pipelined
 *   HSETs of the same rows (same keys per entity, same field count, 1000 per pipeline).
 *   The issue sets no target for it.
 *
 * For attribution, two in-process figures sit between the two: the kit's RedisOnlineStore
 * (`openOnlineStore`) reading the same keys and writing the same rows from this process.
 * The store reads many entities with one script call running the same HMGETs in Redis,
 * which costs the client less than the baseline's pipeline of separate commands.
 *
 * A private redis-server is started here; `seam up` runs every service in one child process
 * on it (storage, online store and all), so the servers do not share this event loop.
 * BENCH_ENTITIES sets the source size (default 100 000 entities, one row each);
 * BENCH_REQUESTS the measured calls per scenario and path (default 3000, after
 * BENCH_WARMUP, default 500); BENCH_CONCURRENCY the closed-loop clients (default 16, as
 * the issue asks; 1 shows unloaded latency); BENCH_SERVER_CPU_PROF a directory to write the
 * server process's CPU profile (node --cpu-prof) to.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { ANY_FREE_PORTS } from "@seam/cli";
import { createGrpcTransport } from "@seam/kit/hosting";
import { createRandom as prng } from "@seam/kit/random";
import { type OnlineRead, type OnlineRecord, openOnlineStore } from "@seam/kit/storage";
import { startRedisServer } from "@seam/kit/testing";
import { Health } from "@seam/proto/grpc/health/v1/health_pb";
import { ColumnType, DatasetService, SourceFormat } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  FeatureStatus,
  FeatureStoreService,
  OnlineFeaturesLayout,
} from "@seam/proto/seam/features/v1/features_pb";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { Redis } from "ioredis";
import { startChild } from "./support/child-process.js";
import { resultLine } from "./support/results.js";

const ENTITIES = Number(process.env.BENCH_ENTITIES ?? 100_000);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 500);
const SERVER_CPU_PROF = process.env.BENCH_SERVER_CPU_PROF;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SCENARIOS = [1, 100] as const;
/** Target: gRPC p50 ≤ RAW_FACTOR × raw pipeline p50 + empty-call p50. */
const RAW_FACTOR = 1.5;
/** Records per pipeline of the raw HSET baseline, as the store's write. */
const RAW_PIPELINE_RECORDS = 1000;
/** Rows per in-process kit store write, as materialize's chunks. */
const KIT_WRITE_CHUNK = 2000;
/** The key prefix openOnlineStore uses by default (and so the servers' store). */
const ONLINE_PREFIX = "seam:online:";

const SOURCE_DATASET = "bench_users";
const FEATURE_SERVICE = "bench_user_features";

interface FeatureDef {
  readonly name: string;
  readonly type: ColumnType;
  /** CSV text and the online store's text form of entity `i`'s value. */
  readonly value: (rand: () => number) => { csv: string; stored: string };
}

const CATEGORIES = ["books", "garden", "toys", "music", "sports", "tools", "food", "health"];
const COUNTRIES = ["FR", "NO", "DE", "US", "JP", "BR", "IN", "ZA", "CA", "ES"];
const TIERS = ["free", "silver", "gold", "platinum"];

const int = (max: number) => (rand: () => number) => {
  const text = String(Math.floor(rand() * max));
  return { csv: text, stored: text };
};
// Always two decimals in the CSV, so the column is inferred as float64; Arrow gives back the number.
const float = (max: number) => (rand: () => number) => {
  const n = Math.round(rand() * max * 100) / 100;
  return { csv: n.toFixed(2), stored: String(n) };
};
const pick = (words: readonly string[]) => (rand: () => number) => {
  const text = words[Math.floor(rand() * words.length)] as string;
  return { csv: text, stored: text };
};

/** Two views of five features each (float64, int64, string) on one user entity, one source. */
const VIEWS: ReadonlyArray<{ readonly name: string; readonly features: readonly FeatureDef[] }> = [
  {
    name: "user_activity",
    features: [
      { name: "clicks_7d", type: ColumnType.INT64, value: int(500) },
      { name: "spend_30d", type: ColumnType.FLOAT64, value: float(2000) },
      { name: "avg_session_s", type: ColumnType.FLOAT64, value: float(900) },
      { name: "orders_90d", type: ColumnType.INT64, value: int(40) },
      { name: "last_category", type: ColumnType.STRING, value: pick(CATEGORIES) },
    ],
  },
  {
    name: "user_profile",
    features: [
      { name: "age", type: ColumnType.INT64, value: int(90) },
      { name: "score", type: ColumnType.FLOAT64, value: float(1) },
      { name: "ltv", type: ColumnType.FLOAT64, value: float(50_000) },
      { name: "country", type: ColumnType.STRING, value: pick(COUNTRIES) },
      { name: "tier", type: ColumnType.STRING, value: pick(TIERS) },
    ],
  },
];

/** Columns a lookup of the bench's feature service answers with: every feature of both views. */
const FEATURES_PER_LOOKUP = VIEWS.reduce((n, view) => n + view.features.length, 0);

interface Measurement {
  readonly p50: number;
  readonly p99: number;
  readonly rps: number;
  readonly calls: number;
}

/** The source CSV (user_id, event_timestamp, ten features) and, per view, each entity's stored values. */
function generateSource(entities: number): {
  csv: Buffer;
  eventTimes: number[];
  stored: string[][][];
} {
  const rand = prng(7);
  const features = VIEWS.flatMap((v) => v.features);
  const lines = [`user_id,event_timestamp,${features.map((f) => f.name).join(",")}`];
  const eventTimes: number[] = [];
  const stored: string[][][] = VIEWS.map(() => []);
  const base = Date.UTC(2024, 0, 1);
  for (let id = 1; id <= entities; id++) {
    const time = base + Math.floor(rand() * 180 * 86_400_000);
    eventTimes.push(time);
    const csv: string[] = [String(id), new Date(time).toISOString()];
    VIEWS.forEach((view, v) => {
      const values: string[] = [];
      for (const feature of view.features) {
        const value = feature.value(rand);
        csv.push(value.csv);
        values.push(value.stored);
      }
      stored[v]?.push(values);
    });
    lines.push(csv.join(","));
  }
  lines.push("");
  return { csv: Buffer.from(lines.join("\n")), eventTimes, stored };
}

/** `count` lists of `size` distinct random entity ids. */
function randomKeys(seed: number, count: number, size: number): number[][] {
  const rand = prng(seed);
  return Array.from({ length: count }, () => {
    const keys = new Set<number>();
    while (keys.size < size) keys.add(1 + Math.floor(rand() * ENTITIES));
    return [...keys];
  });
}

/**
 * Runs `keys.length` calls from CONCURRENCY closed-loop workers (each starts its next call
 * when the last returns): the first WARMUP unmeasured, then the rest timed one by one.
 */
async function closedLoop(keys: number[][], call: (keys: number[]) => Promise<void>): Promise<Measurement> {
  const run = async (from: number, to: number, latencies?: number[]): Promise<number> => {
    let next = from;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < to) {
          const i = next++;
          const t0 = performance.now();
          await call(keys[i] as number[]);
          latencies?.push(performance.now() - t0);
        }
      }),
    );
    return (performance.now() - started) / 1000;
  };
  await run(0, WARMUP);
  const latencies: number[] = [];
  const seconds = await run(WARMUP, keys.length, latencies);
  latencies.sort((a, b) => a - b);
  const at = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] ?? 0;
  return { p50: at(0.5), p99: at(0.99), rps: latencies.length / seconds, calls: latencies.length };
}

/** The hash key the Redis online store uses for a user (see redis-online-store.ts). */
function hashKey(prefix: string, id: number): string {
  return `${prefix}{user_id=${id}}`;
}

const ms = (n: number): string => n.toFixed(3);
async function main(): Promise<void> {
  const benchDir = dirname(fileURLToPath(import.meta.url));
  const repoRoot = join(benchDir, "..", "..");
  const dir = await mkdtemp(join(tmpdir(), "seam-features-bench-"));
  const redis = await startRedisServer();
  const cleanups: Array<() => Promise<void> | void> = [];
  const results: string[] = [];
  try {
    // `seam up` on the private Redis: every service in one process, each on its own port.
    const servers = await startChild(join(repoRoot, "cli", "dist", "main.js"), ["features", "datasets"], {
      args: ["up"],
      env: {
        REDIS_URL: redis.url,
        SEAM_DATA_DIR: dir,
        ...ANY_FREE_PORTS,
        LOG_LEVEL: "warn",
      },
      nodeArgs: SERVER_CPU_PROF === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${SERVER_CPU_PROF}`],
    });
    cleanups.push(servers.stop);
    const transport = createGrpcTransport({
      address: servers.addresses.get("features") as string,
      retry: false,
      maxReceiveMessageBytes: 16 << 20,
    });
    const datasetsTransport = createGrpcTransport({
      address: servers.addresses.get("datasets") as string,
      retry: false,
    });
    cleanups.push(
      () => transport.close(),
      () => datasetsTransport.close(),
    );
    const features = createClient(FeatureStoreService, transport);
    const health = createClient(Health, transport);
    const datasets = createClient(DatasetService, datasetsTransport);
    const raw = new Redis(redis.url);
    cleanups.push(() => raw.quit().then(() => undefined));
    const kit = await openOnlineStore({ dataDir: dir, redisUrl: redis.url });
    const kitWrites = await openOnlineStore({
      dataDir: dir,
      redisUrl: redis.url,
      redisKeyPrefix: "bench:kit:",
    });
    cleanups.push(
      () => kit.close(),
      () => kitWrites.close(),
    );

    // --- Source data and definitions -------------------------------------------------
    const source = generateSource(ENTITIES);
    console.log(
      `source: ${ENTITIES} entities (one row each), ${(source.csv.length / 2 ** 20).toFixed(1)} MiB CSV, 2 views × 5 features`,
    );
    const csv = source.csv;
    async function* upload() {
      yield {
        payload: {
          case: "metadata" as const,
          value: { dataset: SOURCE_DATASET, createDataset: true, format: SourceFormat.CSV },
        },
      };
      for (let at = 0; at < csv.length; at += 1 << 20) {
        yield { payload: { case: "chunk" as const, value: csv.subarray(at, at + (1 << 20)) } };
      }
    }
    const { version } = await datasets.uploadDatasetVersion(upload());
    if (Number(version?.rowCount) !== ENTITIES) throw new Error(`uploaded ${version?.rowCount} rows`);
    await features.applyDefinitions({
      entities: [{ name: "user", joinKeys: [{ name: "user_id", type: ColumnType.INT64 }] }],
      featureViews: VIEWS.map((view) => ({
        name: view.name,
        entities: ["user"],
        features: view.features.map((f) => ({ name: f.name, type: f.type })),
        source: { dataset: SOURCE_DATASET, timestampColumn: "event_timestamp" },
      })),
      featureServices: [{ name: FEATURE_SERVICE, features: VIEWS.map((v) => ({ featureView: v.name })) }],
    });

    // --- Materialize: the service, then raw HSETs and the kit store of the same rows ----
    console.log("");
    console.log("materialize (rows into Redis)");
    let serviceSeconds = 0;
    let writePhaseSeconds = 0;
    let rowsWritten = 0;
    let rowsRead = 0;
    for (const view of VIEWS) {
      const started = performance.now();
      // Progress with nothing written yet comes while the source is read; the rest is the write.
      let readDone = started;
      let last: { rowsWritten: bigint; rowsRead: bigint } | undefined;
      for await (const event of features.materializeFeatureView({ featureView: view.name })) {
        if (event.event.case === "progress" && event.event.value.rowsWritten === 0n)
          readDone = performance.now();
        if (event.event.case === "result") last = event.event.value;
      }
      const seconds = (performance.now() - started) / 1000;
      if (last === undefined) throw new Error(`materialize of ${view.name} returned no result`);
      const written = Number(last.rowsWritten);
      const writeSeconds = (performance.now() - readDone) / 1000;
      serviceSeconds += seconds;
      writePhaseSeconds += writeSeconds;
      rowsWritten += written;
      rowsRead += Number(last.rowsRead);
      console.log(
        `  service ${view.name.padEnd(16)} ${seconds.toFixed(2)} s  ${written} rows written  ` +
          `${(written / seconds).toFixed(0)} rows/s, source ${(Number(last.rowsRead) / seconds).toFixed(0)} rows/s ` +
          `(read phase ${(seconds - writeSeconds).toFixed(2)} s, write phase ${writeSeconds.toFixed(2)} s = ${(written / writeSeconds).toFixed(0)} rows/s)`,
      );
    }

    // Group names come from the store itself: one entity's hash lists `<group>#ts` per view.
    const fieldsOfOne = await raw.hkeys(hashKey(ONLINE_PREFIX, 1));
    const groups = VIEWS.map((view) => {
      const ts = fieldsOfOne.find((f) => f.endsWith("#ts") && f.startsWith(`${view.name}.`));
      if (ts === undefined) throw new Error(`no ${view.name} group in ${fieldsOfOne.join(", ")}`);
      return ts.slice(0, -"#ts".length);
    });
    // What one read of both views asks Redis for, in the store's order: per view, time then values.
    const readFields = VIEWS.flatMap((view, v) => [
      `${groups[v]}#ts`,
      ...view.features.map((f) => `${groups[v]}:${f.name}`),
    ]);
    for (const field of readFields) {
      if (!fieldsOfOne.includes(field)) throw new Error(`field ${field} missing from the store's hash`);
    }

    // The same rows (same field count per hash, 1000 per pipeline, pipelines one after another).
    let started = performance.now();
    for (let v = 0; v < VIEWS.length; v++) {
      const view = VIEWS[v] as (typeof VIEWS)[number];
      for (let from = 0; from < ENTITIES; from += RAW_PIPELINE_RECORDS) {
        const pipeline = raw.pipeline();
        for (let i = from; i < Math.min(ENTITIES, from + RAW_PIPELINE_RECORDS); i++) {
          const args: string[] = [`${groups[v]}#ts`, String(source.eventTimes[i])];
          const values = source.stored[v]?.[i] as string[];
          view.features.forEach((f, k) => {
            args.push(`${groups[v]}:${f.name}`, values[k] as string);
          });
          pipeline.hset(hashKey("bench:raw:", i + 1), ...args);
        }
        for (const [err] of (await pipeline.exec()) ?? []) if (err !== null) throw err;
      }
    }
    const rawSeconds = (performance.now() - started) / 1000;
    const rawRows = VIEWS.length * ENTITIES;
    console.log(
      `  raw pipelined HSET         ${rawSeconds.toFixed(2)} s  ${rawRows} rows written  ${(rawRows / rawSeconds).toFixed(0)} rows/s`,
    );

    started = performance.now();
    for (let v = 0; v < VIEWS.length; v++) {
      const view = VIEWS[v] as (typeof VIEWS)[number];
      for (let from = 0; from < ENTITIES; from += KIT_WRITE_CHUNK) {
        const records: OnlineRecord[] = [];
        for (let i = from; i < Math.min(ENTITIES, from + KIT_WRITE_CHUNK); i++) {
          const values = source.stored[v]?.[i] as string[];
          records.push({
            entityKey: `user_id=${i + 1}`,
            group: groups[v] as string,
            eventTime: source.eventTimes[i] as number,
            values: view.features.map((f, k) => [f.name, values[k] as string] as const),
          });
        }
        await kitWrites.write(records);
      }
    }
    const kitSeconds = (performance.now() - started) / 1000;
    console.log(
      `  kit store write()          ${kitSeconds.toFixed(2)} s  ${rawRows} rows written  ${(rawRows / kitSeconds).toFixed(0)} rows/s  (in-process, Lua newest-wins script per row)`,
    );
    const serviceRps = rowsWritten / serviceSeconds;
    const rawRps = rawRows / rawSeconds;
    results.push(
      resultLine("materialize_rows_per_s", serviceRps, "rows/s", rawRps, "none", undefined),
      resultLine(
        "materialize_source_rows_per_s",
        rowsRead / serviceSeconds,
        "rows/s",
        rawRps,
        "none",
        undefined,
      ),
      resultLine(
        "materialize_write_phase_rows_per_s",
        rowsWritten / writePhaseSeconds,
        "rows/s",
        rawRps,
        "none",
        undefined,
      ),
      resultLine(
        "materialize_kit_store_write_rows_per_s",
        rawRows / kitSeconds,
        "rows/s",
        rawRps,
        "none",
        undefined,
      ),
    );

    // --- Online ------------------------------------------------------------------------
    // Sanity: the service returns what the raw HMGET sees.
    const probe = await features.getOnlineFeatures({
      selection: { case: "featureService", value: FEATURE_SERVICE },
      entities: [{ joinKeys: { user_id: "42" } }],
    });
    const probeRaw = await raw.hmget(hashKey(ONLINE_PREFIX, 42), ...readFields);
    const probeValues = probe.rows[0]?.values.map((v) => String(v.value?.kind.value)) ?? [];
    const expected = probeRaw.filter((_, i) => !readFields[i]?.endsWith("#ts"));
    if (probeValues.join("|") !== expected.join("|")) {
      throw new Error(`service and raw read differ: ${probeValues.join("|")} vs ${expected.join("|")}`);
    }

    console.log("");
    console.log(
      `online reads: concurrency ${CONCURRENCY}, ${REQUESTS} calls per row after ${WARMUP} warm-up`,
    );
    const emptyKeys = randomKeys(1, WARMUP + REQUESTS, 1);
    const empty = await closedLoop(emptyKeys, async () => {
      await health.check({ service: "" });
    });
    console.log(`  ${"empty call (Health/Check)".padEnd(34)} ${row(empty)}`);
    // For attribution only: Health/Check is answered by grpc-health-check directly; a
    // constant answer through the kit's Connect handler adapter (floor-servers.ts, the
    // gateway benchmark's floor) adds what every Seam handler pays on top.
    const floor = await startChild(join(benchDir, "floor-servers.js"), ["grpcjs"]);
    const floorTransport = createGrpcTransport({
      address: `127.0.0.1:${floor.addresses.get("grpcjs")}`,
      retry: false,
    });
    let kitEmpty: Measurement;
    try {
      const constant = createClient(ModelRegistryService, floorTransport);
      kitEmpty = await closedLoop(emptyKeys, async () => {
        await constant.getModel({ name: "bench-model" });
      });
    } finally {
      floorTransport.close();
      await floor.stop();
    }
    console.log(`  ${"constant via kit handler (floor)".padEnd(34)} ${row(kitEmpty)}`);

    let unexpected = 0;
    let rawSingleP50 = Number.NaN;
    for (const size of SCENARIOS) {
      const keys = randomKeys(size, WARMUP + REQUESTS, size);
      const label = `${size} ${size === 1 ? "entity" : "entities"}`;
      const show = (what: string, m: Measurement) =>
        console.log(`  ${`${label}: ${what}`.padEnd(34)} ${row(m)}`);

      const rawRead = await closedLoop(keys, async (ids) => {
        const pipeline = raw.pipeline();
        for (const id of ids) pipeline.hmget(hashKey(ONLINE_PREFIX, id), ...readFields);
        for (const [err] of (await pipeline.exec()) ?? []) if (err !== null) throw err;
      });
      show("raw ioredis pipeline", rawRead);
      if (size === 1) rawSingleP50 = rawRead.p50;

      // One field list per view, reused by every read, as the service's lookups do.
      const viewFields = VIEWS.map((view) => view.features.map((f) => f.name));
      const kitRead = await closedLoop(keys, async (ids) => {
        const reads: OnlineRead[] = [];
        for (const id of ids) {
          VIEWS.forEach((_, v) => {
            reads.push({
              entityKey: `user_id=${id}`,
              group: groups[v] as string,
              fields: viewFields[v] as string[],
            });
          });
        }
        await kit.read(reads);
      });
      show("kit store read() in-process", kitRead);

      // The default rows layout answers each value as its own message (with a Timestamp);
      // the columns layout packs each feature's values for all entities into arrays, and
      // its requests name the entities as columns too (entity_columns).
      const rowsLayout = await closedLoop(keys, async (ids) => {
        const response = await features.getOnlineFeatures({
          selection: { case: "featureService", value: FEATURE_SERVICE },
          entities: ids.map((id) => ({ joinKeys: { user_id: String(id) } })),
        });
        if (response.rows.length !== ids.length) throw new Error(`got ${response.rows.length} rows`);
        for (const r of response.rows) {
          for (const v of r.values) if (v.status !== FeatureStatus.PRESENT) unexpected++;
        }
      });
      show("GetOnlineFeatures gRPC, rows", rowsLayout);
      const grpc = await closedLoop(keys, async (ids) => {
        const response = await features.getOnlineFeatures({
          selection: { case: "featureService", value: FEATURE_SERVICE },
          entityColumns: { user_id: { values: ids.map(String) } },
          layout: OnlineFeaturesLayout.COLUMNS,
        });
        if (response.columns.length !== FEATURES_PER_LOOKUP)
          throw new Error(`got ${response.columns.length} columns`);
        for (const c of response.columns) {
          if (c.statuses.length !== ids.length)
            throw new Error(`got ${c.statuses.length} values in a column`);
          for (const status of c.statuses) if (status !== FeatureStatus.PRESENT) unexpected++;
        }
      });
      show("GetOnlineFeatures gRPC, columns", grpc);

      const ref = RAW_FACTOR * rawRead.p50 + empty.p50;
      console.log(
        `  ${label}: target p50 (columns) ${ms(grpc.p50)} ms <= ${RAW_FACTOR} × ${ms(rawRead.p50)} + ${ms(empty.p50)} = ${ms(ref)} ms`,
      );
      const name = `online_${size}_${size === 1 ? "entity" : "entities"}`;
      results.push(
        resultLine(`${name}_p50`, grpc.p50, "ms", ref, "ratio<=1.0", grpc.p50 / ref <= 1),
        resultLine(`${name}_rows_layout_p50`, rowsLayout.p50, "ms", ref, "none", undefined),
        resultLine(`${name}_p99`, grpc.p99, "ms", rawRead.p99, "none", undefined),
        resultLine(`${name}_rps`, grpc.rps, "req/s", rawRead.rps, "none", undefined),
        resultLine(`${name}_kit_read_p50`, kitRead.p50, "ms", rawRead.p50, "none", undefined),
      );
    }
    if (unexpected > 0) throw new Error(`${unexpected} values were not PRESENT`);
    // How a grpc-js round trip compares with one Redis pipeline round trip (1 entity).
    results.push(
      resultLine("online_empty_call_p50", empty.p50, "ms", rawSingleP50, "none", undefined),
      resultLine("online_kit_constant_call_p50", kitEmpty.p50, "ms", empty.p50, "none", undefined),
    );

    console.log("");
    console.log(
      "p50/p99 refs: raw pipeline at the same concurrency; p50 target ref = 1.5 × raw p50 + empty-call p50.",
    );
    console.log("materialize: ref = raw pipelined HSET rows/s; the issue sets no target (met=n/a).");
    for (const line of results) console.log(line);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        console.error("cleanup failed:", err);
      }
    }
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function row(m: Measurement): string {
  return `p50 ${ms(m.p50).padStart(8)} ms  p99 ${ms(m.p99).padStart(8)} ms  ${m.rps.toFixed(0).padStart(6)} req/s`;
}

await main();
