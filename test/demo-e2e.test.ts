import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ANY_FREE_PORTS } from "@seam/cli";
import { OtlpReceiver, type ReceivedSpan, SPAN_KIND } from "@seam/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSeam, type SeamProcess, startSeam } from "./support/seam-process.js";

// `seam demo --quick` as a newcomer runs it: against `seam up` (every port 0), the whole
// story end to end, twice (running it again against the same suite must work too). The
// suite exports its spans to a receiver here, so the trace id the demo prints is checked to
// be a real trace of the request it names.

const STEPS = [
  "Step 1/8  Upload the data",
  "Step 2/8  Declare entities, feature views and a feature service",
  "Step 3/8  Materialize the features into the online store",
  "Step 4/8  Train two models, following every epoch",
  "Step 5/8  Register and alias the models",
  "Step 6/8  Predict through the gateway",
  "Step 7/8  Predict by entity key: the features come from the online store",
  "Step 8/8  Follow the last request in a tracing backend",
];

describe("seam demo against seam up", () => {
  let dir: string;
  let receiver: OtlpReceiver;
  let seam: SeamProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "seam-demo-e2e-"));
    receiver = new OtlpReceiver();
    const endpoint = await receiver.listen();
    seam = startSeam(["up"], {
      SEAM_DATA_DIR: join(dir, "data"),
      ...ANY_FREE_PORTS,
      LOG_LEVEL: "warn",
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "100",
    });
    const gatewayUrl = (await seam.waitFor(/gateway\s+(http:\/\/127\.0\.0\.1:\d+)/))[1] as string;
    // The lines may arrive in separate chunks: wait for the last service listed.
    await seam.waitFor(/inference\s+127\.0\.0\.1:\d+/);
    env = { SEAM_GATEWAY_URL: gatewayUrl };
  });

  afterAll(async () => {
    const code = await seam?.stop();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  it("tells the whole story, step by step, and exits 0", { timeout: 60_000 }, async () => {
    const { code, stdout, stderr } = await runSeam(["demo", "--quick"], env);
    const output = `${stdout}\n${stderr}`;
    expect(code, output).toBe(0);
    expect(stderr).toBe("");
    let at = 0;
    for (const step of STEPS) {
      const next = stdout.indexOf(step, at);
      expect(next, `${step} (in order)\n${output}`).toBeGreaterThan(at);
      at = next;
    }
    // 1: five datasets, new, with their content-addressed versions.
    expect(stdout).toMatch(/^ {2}demo-iris +150 +5 +demo-iris@[0-9a-f]{24} +new version$/m);
    expect(stdout).toMatch(/^ {2}demo-churn-labels +500 +3 +demo-churn-labels@[0-9a-f]{24} +new version$/m);
    expect(stdout).toContain(
      "  $ npx seam datasets upload iris.csv --name demo-iris --split 7:0.7/0.15/0.15",
    );
    // 2 and 3.
    expect(stdout).toMatch(/^ {2}feature_service +demo_churn +created +1$/m);
    expect(stdout).toMatch(
      /^ {2}demo_customer_activity +6,000 +500 +0 +demo-customer-activity@[0-9a-f]{24}$/m,
    );
    // 4: every epoch as it came, then the registered versions.
    expect(stdout).toMatch(/^ {2}epoch +1\/25 {2}loss [0-9.]+ {2}val_loss /m);
    expect(stdout).toMatch(/^ {2}epoch 25\/25 /m);
    expect(stdout).toMatch(/^ {2}epoch 10\/10 /m);
    expect(stdout).toMatch(/^ {2}job \S+ succeeded: registered demo-iris:1$/m);
    expect(stdout).toMatch(/^ {2}job \S+ succeeded: registered demo-churn:1$/m);
    // 5.
    expect(stdout).toContain("demo-iris:1 is now demo-iris@champion (a new alias)");
    expect(stdout).toMatch(/^ {4}feature service +demo_churn /m);
    // 6: Connect JSON and the Open Inference Protocol, the setosa recognised both ways.
    expect(stdout).toContain("answered by demo-iris:1 (champion)");
    expect(stdout).toMatch(/^ +5\.1 +3\.5 +1\.4 +0\.2 +setosa +setosa /m);
    expect(stdout).toContain('answered by demo-iris version 1: output "probabilities" FP32 [3, 3]');
    expect(stdout).toMatch(/^ {4}0 {2}setosa /m);
    // 7: by entity key, with the features used and their statuses.
    expect(stdout).toContain("answered by demo-churn:1 (champion)");
    expect(stdout).toMatch(/^ {2}customer_id=\d+ +txns_30d +demo_customer_activity:txns_30d +PRESENT /m);
    // 8: the trace id of that request, which the suite really recorded.
    const traceId = stdout.match(/^ {2}trace id +([0-9a-f]{32})$/m)?.[1] ?? "";
    expect(traceId, output).toMatch(/^[0-9a-f]{32}$/);
    expect(stdout).toContain(`-H 'traceparent: 00-${traceId}-`);
    expect(stdout).toContain(`http://localhost:16686/trace/${traceId}`);
    const spans = await waitForSpans(receiver, traceId, (all) =>
      all.some((s) => s.kind === SPAN_KIND.SERVER && s.name.endsWith("InferenceService/Predict")),
    );
    expect(spans.map((s) => s.name)).toContain("inference.feature_lookup");
  });

  it("runs again against the same suite: the same data, new model versions", {
    timeout: 60_000,
  }, async () => {
    const { code, stdout, stderr } = await runSeam(["demo", "--quick"], env);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toMatch(
      /^ {2}demo-iris +150 +5 +demo-iris@[0-9a-f]{24} +the same content: the existing version$/m,
    );
    expect(stdout).toMatch(/^ {2}feature_service +demo_churn +unchanged +1$/m);
    expect(stdout).toContain("demo-iris:2 is now demo-iris@champion (it was version 1)");
    expect(stdout).toContain("answered by demo-iris:2 (champion)");
    expect(stdout).toContain("answered by demo-churn:2 (champion)");
  });
});

/** The spans of a trace once `complete` holds (they arrive in several exports). */
async function waitForSpans(
  receiver: OtlpReceiver,
  traceId: string,
  complete: (spans: ReceivedSpan[]) => boolean,
): Promise<ReceivedSpan[]> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (complete(receiver.trace(traceId))) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return receiver.trace(traceId);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`trace ${traceId} incomplete: ${JSON.stringify(receiver.trace(traceId), null, 1)}`);
}
