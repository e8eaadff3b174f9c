import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import type { Output } from "../output.js";
import { run } from "../run.js";
import { runDemoCommand } from "./demo.js";
import { DEMO_NAMES, FEATURES_YAML, generateChurnData } from "./demo-data.js";
import {
  argmax,
  curlCommand,
  formatPercent,
  formatSeconds,
  newTraceContext,
  parseSimpleCsv,
  seamCommand,
  shellQuote,
  stepHeader,
  tableLines,
  wrap,
} from "./demo-format.js";
import { IRIS_CSV } from "./demo-iris.js";
import { parseDefinitions } from "./feature-args.js";

// The pure parts of `seam demo`: its data (deterministic, valid CSV, consistent with the
// feature definitions), its formatting, and how it fails without a gateway. The whole demo
// runs against `seam up` in test/demo-e2e.test.ts.

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function header(csv: string): string[] {
  return (csv.split("\n")[0] ?? "").split(",");
}

/** Every line of a CSV file has as many cells as its header, and the file ends with a newline. */
function expectRectangular(csv: string, rows: number): void {
  expect(csv.endsWith("\n")).toBe(true);
  const lines = csv.slice(0, -1).split("\n");
  expect(lines.length).toBe(rows + 1);
  const width = header(csv).length;
  expect(lines.filter((line) => line.split(",").length !== width)).toEqual([]);
}

describe("the generated customer data", () => {
  const data = generateChurnData();

  it("is the same for a seed and differs for another", () => {
    expect(generateChurnData({ seed: 42 })).toEqual(data);
    expect(generateChurnData({ seed: 7 }).transactions.csv).not.toBe(data.transactions.csv);
    expect(generateChurnData({ customers: 20 }).customers.rows).toBe(20);
  });

  it("is valid CSV with the documented columns and typed values", () => {
    expect(header(data.customers.csv)).toEqual([
      "customer_id",
      "event_timestamp",
      "country",
      "tenure_months",
    ]);
    expect(header(data.transactions.csv)).toEqual(["transaction_id", "customer_id", "timestamp", "amount"]);
    expect(header(data.activity.csv)).toEqual([
      "customer_id",
      "event_timestamp",
      "spend_30d",
      "txns_30d",
      "txns_prev_30d",
      "days_since_last_txn",
    ]);
    expect(header(data.labels.csv)).toEqual(["customer_id", "event_timestamp", "churned"]);
    expectRectangular(data.customers.csv, data.customers.rows);
    expectRectangular(data.transactions.csv, data.transactions.rows);
    expectRectangular(data.activity.csv, data.activity.rows);
    expectRectangular(data.labels.csv, data.labels.rows);

    const customers = parseSimpleCsv(data.customers.csv);
    expect(customers).toHaveLength(500);
    expect(new Set(customers.map((c) => c.customer_id)).size).toBe(500);
    // Rows that break the rules (expect() per row would take seconds on 16k rows).
    expect(
      customers.filter(
        (c) =>
          !/^\d+$/.test(c.customer_id ?? "") ||
          !ISO.test(c.event_timestamp ?? "") ||
          !/^[A-Z]{2}$/.test(c.country ?? "") ||
          !/^[1-9]\d*$/.test(c.tenure_months ?? ""),
      ),
    ).toEqual([]);
    const ids = new Set(customers.map((c) => c.customer_id));
    const transactions = parseSimpleCsv(data.transactions.csv);
    expect(transactions.length).toBeGreaterThan(5000);
    expect(
      transactions.filter(
        (t) =>
          !ids.has(t.customer_id ?? "") ||
          !ISO.test(t.timestamp ?? "") ||
          !/^\d+\.\d{2}$/.test(t.amount ?? ""),
      ),
    ).toEqual([]);
    // A weekly snapshot per customer over 12 weeks.
    const activity = parseSimpleCsv(data.activity.csv);
    expect(activity).toHaveLength(500 * 12);
    expect(
      activity.filter(
        (a) =>
          !ids.has(a.customer_id ?? "") ||
          !ISO.test(a.event_timestamp ?? "") ||
          !/^\d+\.\d{2}$/.test(a.spend_30d ?? "") ||
          !/^\d+$/.test(a.txns_30d ?? "") ||
          !/^\d+$/.test(a.txns_prev_30d ?? "") ||
          !/^\d+\.\d$/.test(a.days_since_last_txn ?? ""),
      ),
    ).toEqual([]);
    const labels = parseSimpleCsv(data.labels.csv);
    expect(labels.map((l) => l.customer_id)).toEqual(customers.map((c) => c.customer_id));
    expect(new Set(labels.map((l) => l.churned))).toEqual(new Set(["true", "false"]));
    const churnRate = labels.filter((l) => l.churned === "true").length / labels.length;
    expect(churnRate).toBeGreaterThan(0.15);
    expect(churnRate).toBeLessThan(0.5);
  });

  it("computes the activity from the transactions, and labels after the last snapshot", () => {
    const transactions = parseSimpleCsv(data.transactions.csv);
    const activity = parseSimpleCsv(data.activity.csv);
    const snapshot = activity[3] as Record<string, string>;
    const at = Date.parse(snapshot.event_timestamp as string);
    const window = transactions.filter((t) => {
      const ms = Date.parse(t.timestamp as string);
      return t.customer_id === snapshot.customer_id && ms <= at && ms > at - 30 * 86_400_000;
    });
    expect(Number(snapshot.txns_30d)).toBe(window.length);
    expect(Number(snapshot.spend_30d)).toBeCloseTo(
      window.reduce((sum, t) => sum + Number(t.amount), 0),
      2,
    );
    const lastSnapshot = Math.max(...activity.map((a) => Date.parse(a.event_timestamp as string)));
    for (const l of parseSimpleCsv(data.labels.csv))
      expect(Date.parse(l.event_timestamp as string)).toBeGreaterThan(lastSnapshot);
  });

  it("names one customer who churned and one who stayed", () => {
    const labels = new Map(parseSimpleCsv(data.labels.csv).map((l) => [l.customer_id, l.churned]));
    expect(labels.get(data.examples.churned)).toBe("true");
    expect(labels.get(data.examples.stayed)).toBe("false");
  });
});

describe("the demo's feature definitions", () => {
  it("parse as a `seam features apply` file over the generated columns", () => {
    const definitions = parseDefinitions(FEATURES_YAML, "features.yaml");
    expect(definitions.entities.map((e) => e.name)).toEqual([DEMO_NAMES.entity]);
    expect(definitions.featureServices.map((s) => s.name)).toEqual([DEMO_NAMES.featureService]);
    const data = generateChurnData();
    const columns: Record<string, string[]> = {
      [DEMO_NAMES.customersDataset]: header(data.customers.csv),
      [DEMO_NAMES.activityDataset]: header(data.activity.csv),
    };
    expect(definitions.featureViews.map((v) => v.name)).toEqual([
      DEMO_NAMES.profileView,
      DEMO_NAMES.activityView,
    ]);
    for (const view of definitions.featureViews) {
      const source = columns[view.source?.dataset ?? ""] ?? [];
      expect(source).toContain(view.source?.timestampColumn);
      expect(source).toContain("customer_id");
      for (const f of view.features) expect(source).toContain(f.name);
    }
  });
});

describe("the embedded Iris data", () => {
  it("has 150 flowers, 50 of each species, with four measurements", () => {
    const rows = parseSimpleCsv(IRIS_CSV);
    expect(rows).toHaveLength(150);
    expectRectangular(IRIS_CSV, 150);
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.species ?? "", (counts.get(r.species ?? "") ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ setosa: 50, versicolor: 50, virginica: 50 });
    for (const r of rows)
      for (const c of ["sepal_length", "sepal_width", "petal_length", "petal_width"])
        expect(Number(r[c])).toBeGreaterThan(0);
    expect(rows[0]).toEqual({
      sepal_length: "5.1",
      sepal_width: "3.5",
      petal_length: "1.4",
      petal_width: "0.2",
      species: "setosa",
    });
  });
});

describe("demo formatting", () => {
  it("quotes shell arguments only when needed, so the printed commands run as they are", () => {
    expect(shellQuote("demo-iris")).toBe("demo-iris");
    expect(shellQuote("customer_id=1001")).toBe("customer_id=1001");
    expect(shellQuote("0.7,0.15,0.15:7:customer_id")).toBe("0.7,0.15,0.15:7:customer_id");
    expect(shellQuote('{"x":1}')).toBe(`'{"x":1}'`);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote("")).toBe("''");
    expect(seamCommand(["predict", "m", "--input", '{"a":1}'])).toBe(
      `  $ npx seam predict m --input '{"a":1}'`,
    );
  });

  it("prints a Connect JSON call as curl", () => {
    expect(
      curlCommand(
        "http://127.0.0.1:8080/",
        "seam.inference.v1.InferenceService/Predict",
        { model: "m" },
        {
          traceparent: "00-ab-cd-01",
        },
      ),
    ).toBe(
      `  $ curl -H 'Content-Type: application/json' -H 'traceparent: 00-ab-cd-01' -d '{"model":"m"}' http://127.0.0.1:8080/seam.inference.v1.InferenceService/Predict`,
    );
  });

  it("makes a random, sampled W3C trace context", () => {
    const trace = newTraceContext();
    expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(trace.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(trace.traceparent).toBe(`00-${trace.traceId}-${trace.spanId}-01`);
    expect(newTraceContext().traceId).not.toBe(trace.traceId);
    // All-zero ids are invalid: drawn again.
    let calls = 0;
    const fixed = newTraceContext((size) => new Uint8Array(size).fill(calls++ === 0 ? 0 : 0xab));
    expect(fixed.traceId).toBe("ab".repeat(16));
    expect(fixed.spanId).toBe("ab".repeat(8));
  });

  it("aligns tables (numbers to the right), wraps text and underlines step headers", () => {
    expect(
      tableLines(
        ["NAME", "ROWS", "NOTE"],
        [
          ["iris", "150", "new"],
          ["transactions", "14,372", "x"],
        ],
      ),
    ).toEqual(["  NAME          ROWS    NOTE", "  iris             150  new", "  transactions  14,372  x"]);
    const lines = wrap("word ".repeat(60), 40);
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) {
      expect(line.length).toBeLessThanOrEqual(40);
      expect(line.startsWith("  word")).toBe(true);
    }
    expect(stepHeader(3, 8, "Materialize")).toEqual(["Step 3/8  Materialize", "---------------------"]);
  });

  it("picks the predicted class and formats probabilities and durations", () => {
    expect(argmax([0.1, 0.7, 0.2])).toBe(1);
    expect(argmax([])).toBe(-1);
    expect(formatPercent(0.9734)).toBe("97.3%");
    expect(formatPercent(1)).toBe("100.0%");
    expect(formatSeconds(850)).toBe("850 ms");
    expect(formatSeconds(12_345)).toBe("12.3 s");
  });
});

describe("seam demo without a gateway", () => {
  function capture() {
    const lines: string[] = [];
    const out: Output = {
      line: (t) => lines.push(t),
      table: (h, rows) => lines.push([h, ...rows].map((r) => r.join("|")).join("\n")),
      json: (v) => lines.push(JSON.stringify(v)),
    };
    let err = "";
    return { lines, out, err: { write: (t: string) => (err += t) }, stderr: () => err };
  }

  /** A local port nothing listens on. */
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    await new Promise((resolve) => server.close(resolve));
    if (address === null || typeof address === "string") throw new Error("no port");
    return address.port;
  }

  it("exits 1 and says to start the suite first", async () => {
    const io = capture();
    const url = `http://127.0.0.1:${await closedPort()}`;
    expect(await runDemoCommand(["--quick"], url, io)).toBe(1);
    expect(io.stderr()).toContain(`seam demo: cannot reach the Seam gateway at ${url}`);
    expect(io.stderr()).toContain("`npm start`");
    expect(io.lines.join("\n")).not.toContain("Step 1/8");
  });

  it("is a usage error with arguments it does not take", async () => {
    const io = capture();
    expect(await run(["demo", "now"], {}, io.out, io.err as unknown as NodeJS.WritableStream)).toBe(2);
    expect(io.stderr()).toContain('demo takes options only, got "now"');
    expect(io.stderr()).toContain("seam demo [--quick]");
  });
});
