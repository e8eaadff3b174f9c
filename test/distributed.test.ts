import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { buildMlpModel, mlpReference } from "@seam/inference/testing";
import { InferenceService } from "@seam/proto/seam/inference/v1/inference_pb";
import { ArtifactFormat, ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Suite, startSuite } from "./support/suite.js";

// The distributed layout under failure: every service its own process on Redis, two
// inference replicas behind the gateway. One replica is killed (SIGKILL, no drain) while
// clients keep predicting through the gateway, unary calls and PredictStream streams, each
// with retries (a broken stream is opened again and re-sends what it had not answered): no
// request may fail, and the survivor keeps serving.

const SEED = 11;
const x = Array.from({ length: 20 }, (_, i) => Math.sin(i));
const expected = mlpReference({ seed: SEED })(Float32Array.from(x), 1)[0] as number;

const RETRIES = 5;

describe("the distributed layout losing an inference replica", () => {
  let suite: Suite;

  beforeAll(async () => {
    suite = await startSuite("distributed");
    const registry = createClient(ModelRegistryService, createGrpcTransport({ baseUrl: suite.gatewayUrl }));
    async function* upload() {
      yield {
        payload: {
          case: "metadata" as const,
          value: { modelName: "mlp", createModel: true, format: ArtifactFormat.ONNX, alias: "champion" },
        },
      };
      yield { payload: { case: "chunk" as const, value: buildMlpModel({ seed: SEED }) } };
    }
    await registry.uploadModelVersion(upload());
  });

  afterAll(async () => {
    await suite?.stop();
  });

  it("keeps answering through the survivor with no failed request", async () => {
    // Connect protocol (HTTP/1.1 JSON-free binary) through the gateway, as an outside client.
    const client = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: suite.gatewayUrl, httpVersion: "1.1" }),
    );
    const tally = { ok: 0, okAfterKill: 0, retried: 0, failed: [] as string[] };
    let killed = false;
    let stop = false;
    const predictWithRetry = async (id: string) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await client.predict({ model: "mlp", requestId: id, rows: [{ x }] }, { timeoutMs: 5_000 });
        } catch (error) {
          const code = ConnectError.from(error).code;
          if (attempt > RETRIES || (code !== Code.Unavailable && code !== Code.DeadlineExceeded)) throw error;
          tally.retried++;
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
        }
      }
    };
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const response = await predictWithRetry(`w${w}-${i}`);
          expect(response.outputs[0]?.floatValues[0]).toBeCloseTo(expected, 4);
          tally.ok++;
          if (killed) tally.okAfterKill++;
        } catch (error) {
          tally.failed.push(String(error));
        }
      }
    };
    // Streams too: PredictStream over HTTP/2 through the gateway, each stream bound to one
    // replica. A stream that breaks is opened again and what it had not answered is re-sent.
    const streamClient = createClient(InferenceService, createGrpcTransport({ baseUrl: suite.gatewayUrl }));
    const streams = { answered: 0, reopened: 0, failed: [] as string[] };
    const streamer = async (s: number) => {
      let next = 0;
      let unanswered = new Map<string, number>(); // request id → attempts
      while (!stop || unanswered.size > 0) {
        const queue = new Queue<string>();
        for (const id of unanswered.keys()) queue.push(id);
        const requests = async function* () {
          for (;;) {
            const id = await queue.shift();
            if (id === undefined) return;
            yield { request: { model: "mlp", requestId: id, rows: [{ x }] } };
          }
        };
        // Keep 8 requests in flight on the stream, as a high-rate client would.
        const refill = () => {
          while (!stop && unanswered.size < 8) {
            const id = `s${s}-${next++}`;
            unanswered.set(id, 0);
            queue.push(id);
          }
          if (stop && unanswered.size === 0) queue.end();
        };
        refill();
        try {
          for await (const message of streamClient.predictStream(requests())) {
            const id = message.requestId;
            if (message.result.case === "response") {
              expect(message.result.value.outputs[0]?.floatValues[0]).toBeCloseTo(expected, 4);
              streams.answered++;
            } else {
              streams.failed.push(`${id}: ${message.result.value?.message}`);
            }
            unanswered.delete(id);
            refill();
          }
          if (unanswered.size === 0) return;
        } catch (error) {
          const code = ConnectError.from(error).code;
          if (code !== Code.Unavailable && code !== Code.Canceled && code !== Code.Internal) {
            streams.failed.push(String(error));
            return;
          }
        }
        // The stream broke: whatever it had not answered goes out again on a new one.
        streams.reopened++;
        unanswered = new Map(
          [...unanswered]
            .filter(([id, attempts]) => {
              if (attempts < RETRIES) return true;
              streams.failed.push(`${id}: no answer after ${RETRIES} streams`);
              return false;
            })
            .map(([id, attempts]) => [id, attempts + 1]),
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    // Once the unary load has connected the gateway to both replicas, round-robin puts
    // successive streams on alternating replicas: some of them meet the kill.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    workers.push(...Array.from({ length: 4 }, (_, s) => streamer(s)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The gateway spreads calls over both replicas: each has answered some.
    for (const role of ["inference-1", "inference-2"]) {
      const replica = createClient(
        InferenceService,
        createGrpcTransport({ baseUrl: `http://${suite.addresses.get(role)}` }),
      );
      const { models } = await replica.getModelStatus({ modelName: "mlp" });
      expect(Number(models[0]?.versions[0]?.stats?.successes ?? 0), role).toBeGreaterThan(0);
    }
    const victim = suite.processes.get("inference-1");
    victim?.child.kill("SIGKILL");
    killed = true;
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    stop = true;
    await Promise.all(workers);

    console.log(
      `replica loss: ${tally.ok} unary requests answered (${tally.okAfterKill} after the kill), ${tally.retried} retries, ${tally.failed.length} failed; ` +
        `${streams.answered} streamed requests answered, ${streams.reopened} streams reopened, ${streams.failed.length} failed`,
    );
    expect(tally.failed).toEqual([]);
    expect(streams.failed).toEqual([]);
    expect(streams.reopened).toBeGreaterThan(0);
    expect(streams.answered).toBeGreaterThan(100);
    expect(tally.okAfterKill).toBeGreaterThan(50);
    expect(victim?.child.signalCode).toBe("SIGKILL");
    // The survivor answered what came after the kill.
    const survivor = createClient(
      InferenceService,
      createGrpcTransport({ baseUrl: `http://${suite.addresses.get("inference-2")}` }),
    );
    const { models } = await survivor.getModelStatus({ modelName: "mlp" });
    expect(Number(models[0]?.versions[0]?.stats?.successes ?? 0)).toBeGreaterThanOrEqual(tally.okAfterKill);
  });
});

/** An async queue of items; `shift()` resolves undefined once `end()` was called and it is empty. */
class Queue<T> {
  readonly #items: T[] = [];
  #waiting: ((item: T | undefined) => void) | undefined;
  #ended = false;

  push(item: T): void {
    if (this.#waiting !== undefined) {
      const wake = this.#waiting;
      this.#waiting = undefined;
      wake(item);
    } else this.#items.push(item);
  }

  end(): void {
    this.#ended = true;
    this.#waiting?.(undefined);
    this.#waiting = undefined;
  }

  shift(): Promise<T | undefined> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift());
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.#waiting = resolve));
  }
}
