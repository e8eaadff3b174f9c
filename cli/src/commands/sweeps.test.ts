import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import {
  type CancelSweepRequest,
  type CreateSweepRequest,
  Direction,
  JobState,
  type ListSweepsRequest,
  type Sweep,
  SweepAlgorithm,
  SweepSchema,
  type SweepSpec,
  SweepState,
  Task,
  TrainingService,
} from "@seam/proto/seam/training/v1/training_pb";
import { describe, expect, it } from "vitest";
import { UsageError } from "../args.js";
import type { Output } from "../output.js";
import {
  formatParameters,
  formatSweepStatus,
  formatTrialEnd,
  sweepEvents,
  trialsTable,
} from "./sweep-format.js";
import { runSweepCommand, type SweepIo } from "./sweeps.js";

// `seam sweep` against an in-memory TrainingService: what it sends, prints and exits with.
// The end-to-end test through the gateway and the real service is test/training-e2e.test.ts.

const T0 = Date.parse("2024-05-01T12:00:00Z");
const ID = "sweep-m3x1k2-7f3a";
const VERSION_ID = "a".repeat(24);

function capture(tty = false) {
  const lines: string[] = [];
  const out: Output = {
    line: (t) => lines.push(t),
    table: (header, rows) => lines.push([header, ...rows].map((r) => r.join("|")).join("\n")),
    json: (v) => lines.push(JSON.stringify(v)),
  };
  const errors: string[] = [];
  const progress: string[] = [];
  const io: SweepIo = {
    out,
    err: { write: (t: string) => errors.push(t) },
    progress: { isTTY: tty, write: (t: string) => progress.push(t) },
    pollMs: 1,
  };
  return { lines, errors, progress, io };
}

function transportFor(impl: Partial<ServiceImpl<typeof TrainingService>>) {
  return createRouterTransport(({ service }) => service(TrainingService, impl));
}

type TrialInit = NonNullable<Exclude<MessageInitShape<typeof SweepSchema>, Sweep>["trials"]>[number];

/** A grid sweep over two learning rates on iris, by val_accuracy; `trials` replace its two waiting ones. */
function sweep(init: Exclude<MessageInitShape<typeof SweepSchema>, Sweep> = {}): Sweep {
  return create(SweepSchema, {
    id: ID,
    state: SweepState.RUNNING,
    createTime: timestampFromMs(T0),
    spec: {
      base: {
        dataset: { dataset: "iris", version: VERSION_ID, labelColumn: "species" },
        task: Task.MULTICLASS_CLASSIFICATION,
        model: { hiddenUnits: [16] },
        training: { epochs: 30 },
        registration: { modelName: "iris-sweep" },
      },
      parameters: [{ name: "learning_rate", values: ["0.000001", "0.05"] }],
      algorithm: SweepAlgorithm.GRID,
      parallelism: 2,
      objective: "val_accuracy",
      direction: Direction.MAXIMIZE,
      medianStoppingMinEpochs: 5,
    },
    trials: [trial(1), trial(2)],
    ...init,
  });
}

/** The spec of {@link sweep} with the median rule on. */
function medianRuleSpec(): SweepSpec {
  const spec = sweep().spec;
  if (spec === undefined) throw new Error("the sweep has no spec");
  spec.medianStopping = true;
  return spec;
}

function trial(number: number, init: TrialInit = {}): TrialInit {
  return {
    number,
    parameters: { learning_rate: number === 1 ? "0.000001" : "0.05" },
    state: JobState.QUEUED,
    ...init,
  };
}

/** What GetSweep sees of a sweep whose two trials run and succeed, trial 2 best. */
const PROGRESS: Sweep[] = [
  sweep({
    trials: [
      trial(1, { jobId: "job-1", state: JobState.RUNNING }),
      trial(2, { jobId: "job-2", state: JobState.QUEUED }),
    ],
  }),
  sweep({
    bestTrial: 1,
    trials: [
      trial(1, { jobId: "job-1", state: JobState.SUCCEEDED, objective: 0.3636 }),
      trial(2, { jobId: "job-2", state: JobState.RUNNING, objective: 0.6 }),
    ],
  }),
  sweep({
    state: SweepState.SUCCEEDED,
    bestTrial: 2,
    modelVersion: "iris-sweep:1",
    endTime: timestampFromMs(T0 + 41_000),
    trials: [
      trial(1, { jobId: "job-1", state: JobState.SUCCEEDED, objective: 0.3636 }),
      trial(2, { jobId: "job-2", state: JobState.SUCCEEDED, objective: 0.9545 }),
    ],
  }),
];

/** GetSweep answering with `snapshots` in turn, the last one from then on. */
function polled(snapshots: readonly Sweep[]) {
  let calls = 0;
  return {
    getSweep: () => ({ sweep: snapshots[Math.min(calls++, snapshots.length - 1)] }),
    calls: () => calls,
  };
}

const CREATE = [
  "create",
  "--dataset",
  "iris",
  "--label",
  "species",
  "--task",
  "multiclass",
  "--model-name",
  "iris-sweep",
  "--param",
  "learning_rate=0.000001,0.05",
  "--objective",
  "val_accuracy",
];

const CREATED = `created sweep ${ID}: iris-sweep from iris@${VERSION_ID}, multiclass on species: 2 trials (grid over learning_rate), best val_accuracy (higher is better), 2 at once`;

describe("seam sweep create", () => {
  it("creates the sweep, prints trials starting, ending and improving the best, then the outcome", async () => {
    let created: CreateSweepRequest | undefined;
    const poll = polled(PROGRESS);
    const transport = transportFor({
      createSweep(req) {
        created = req;
        return { sweep: sweep() };
      },
      getSweep: poll.getSweep,
    });
    const io = capture();
    expect(await runSweepCommand(CREATE, transport, io.io)).toBe(0);
    expect(created?.spec?.parameters.map((p) => [p.name, p.values])).toEqual([
      ["learning_rate", ["0.000001", "0.05"]],
    ]);
    expect(created?.spec?.objective).toBe("val_accuracy");
    expect(io.lines).toEqual([
      CREATED,
      "trial 1 started: learning_rate=0.000001 (job job-1)",
      "trial 2 started: learning_rate=0.05 (job job-2)",
      "trial 1 succeeded: val_accuracy 0.3636",
      "best so far: trial 1, val_accuracy 0.3636 (learning_rate=0.000001)",
      "trial 2 succeeded: val_accuracy 0.9545",
      "best so far: trial 2, val_accuracy 0.9545 (learning_rate=0.05)",
      `sweep ${ID} succeeded: registered iris-sweep:1`,
      "  best:    trial 2, val_accuracy 0.9545 (job job-2)",
      "  params:  learning_rate=0.05",
      "  model:   iris-sweep:1",
      "  trials:  2 succeeded, in 41.0s",
    ]);
    // It stops reading once the sweep has ended.
    expect(poll.calls()).toBe(PROGRESS.length);
    expect(io.progress).toEqual([]);
    expect(io.errors).toEqual([]);
  });

  it("draws a status line on a TTY and takes it off before every line it prints", async () => {
    const transport = transportFor({ createSweep: () => ({ sweep: sweep() }), ...polled(PROGRESS) });
    const io = capture(true);
    expect(await runSweepCommand(CREATE, transport, io.io)).toBe(0);
    const drawn = io.progress.filter((w) => w !== "\r\x1b[K");
    expect(drawn[0]).toBe(`\r${ID} 0/2 trials ended, 0 running, 2 waiting\x1b[K`);
    expect(drawn).toContain(`\r${ID} 0/2 trials ended, 1 running, 1 waiting\x1b[K`);
    expect(io.progress[io.progress.length - 1]).toBe("\r\x1b[K");
  });

  it("returns after creating with --detach", async () => {
    const transport = transportFor({
      createSweep: () => ({ sweep: sweep() }),
      getSweep: () => {
        throw new Error("--detach must not follow");
      },
    });
    const io = capture();
    expect(await runSweepCommand([...CREATE, "--detach"], transport, io.io)).toBe(0);
    expect(io.lines).toEqual([CREATED, `follow it with: seam sweep watch ${ID}`]);
  });

  it("exits 1 when the sweep fails, naming trials the median rule stopped and trials that failed", async () => {
    const failed = sweep({
      state: SweepState.FAILED,
      reason: "no trial succeeded",
      spec: medianRuleSpec(),
      trials: [
        trial(1, { jobId: "job-1", state: JobState.CANCELLED, objective: 0.3, stoppedEarly: true }),
        trial(2, { jobId: "job-2", state: JobState.FAILED }),
      ],
    });
    const transport = transportFor({ createSweep: () => ({ sweep: sweep() }), ...polled([failed]) });
    const io = capture();
    expect(await runSweepCommand(CREATE, transport, io.io)).toBe(1);
    expect(io.lines.slice(3)).toEqual([
      "trial 1 stopped by the median rule: val_accuracy 0.3000",
      "trial 2 failed (seam jobs show job-2 says why)",
      `sweep ${ID} failed: no trial succeeded`,
      "  trials:  1 stopped by the median rule, 1 failed",
    ]);
  });

  it("goes on through a gateway that is briefly unavailable", async () => {
    let calls = 0;
    const transport = transportFor({
      createSweep: () => ({ sweep: sweep() }),
      getSweep: () => {
        if (++calls <= 2) throw new ConnectError("gateway restarting", Code.Unavailable);
        return { sweep: PROGRESS[2] };
      },
    });
    const io = capture();
    expect(await runSweepCommand(CREATE, transport, io.io)).toBe(0);
    expect(io.lines).toContain(`sweep ${ID} succeeded: registered iris-sweep:1`);
  });

  it("cancels the sweep on Ctrl-C and exits 1", async () => {
    let cancelled: CancelSweepRequest | undefined;
    const interrupt = new AbortController();
    const transport = transportFor({
      createSweep: () => ({ sweep: sweep() }),
      getSweep: () => ({ sweep: PROGRESS[0] }),
      cancelSweep(req) {
        cancelled = req;
        return {
          sweep: sweep({
            state: SweepState.CANCELLED,
            reason: "cancelled by a client",
            trials: [
              trial(1, { jobId: "job-1", state: JobState.CANCELLED }),
              trial(2, { jobId: "job-2", state: JobState.CANCELLED }),
            ],
          }),
        };
      },
    });
    const io = capture();
    const out = io.io.out;
    const code = await runSweepCommand(CREATE, transport, {
      ...io.io,
      interrupt: interrupt.signal,
      out: {
        ...out,
        line: (text) => {
          out.line(text);
          if (text.startsWith("trial 2 started")) interrupt.abort();
        },
      },
    });
    expect(code).toBe(1);
    expect(cancelled?.id).toBe(ID);
    expect(io.lines.slice(-3)).toEqual([
      `interrupted: cancelling sweep ${ID}`,
      `sweep ${ID} cancelled: cancelled by a client`,
      "  trials:  2 cancelled",
    ]);
  });

  it("refuses a bad command line before calling the service, and passes its refusal on", async () => {
    const transport = transportFor({
      createSweep: () => {
        throw new ConnectError(
          'spec.objective must be one of val_loss, …, got "val_r2"',
          Code.InvalidArgument,
        );
      },
    });
    const io = capture();
    await expect(runSweepCommand(CREATE.slice(0, -4), transport, io.io)).rejects.toThrow(UsageError);
    await expect(runSweepCommand(CREATE, transport, io.io)).rejects.toThrow(/spec\.objective/);
  });
});

describe("seam sweep", () => {
  it("watches a sweep until it ends; Ctrl-C stops watching without cancelling", async () => {
    const transport = transportFor(polled([PROGRESS[2] as Sweep]));
    const io = capture();
    expect(await runSweepCommand(["watch", ID], transport, io.io)).toBe(0);
    expect(io.lines[0]).toBe(CREATED.replace("created", "following"));
    expect(io.lines).toContain("best so far: trial 2, val_accuracy 0.9545 (learning_rate=0.05)");
    expect(io.lines).toContain("  model:   iris-sweep:1");

    const interrupt = new AbortController();
    interrupt.abort();
    const running = transportFor({
      getSweep: () => ({ sweep: PROGRESS[0] }),
      cancelSweep: () => {
        throw new Error("watch must not cancel");
      },
    });
    const stopped = capture();
    expect(
      await runSweepCommand(["watch", ID], running, { ...stopped.io, interrupt: interrupt.signal }),
    ).toBe(1);
    expect(stopped.errors).toEqual([
      `seam: stopped watching sweep ${ID}; it goes on (seam sweep cancel ${ID} stops it)\n`,
    ]);
  });

  it("shows a sweep's search and its trials, the best marked", async () => {
    const done = sweep({
      state: SweepState.SUCCEEDED,
      bestTrial: 2,
      modelVersion: "iris-sweep:1",
      endTime: timestampFromMs(T0 + 41_000),
      spec: medianRuleSpec(),
      trials: [
        trial(1, { jobId: "job-1", state: JobState.CANCELLED, objective: 0.3636, stoppedEarly: true }),
        trial(2, { jobId: "job-2", state: JobState.SUCCEEDED, objective: 0.9545 }),
      ],
    });
    const transport = transportFor({ getSweep: () => ({ sweep: done }) });
    const io = capture();
    expect(await runSweepCommand(["show", ID], transport, io.io)).toBe(0);
    expect(io.lines).toEqual([
      `sweep ${ID}`,
      "  state:       succeeded: registered iris-sweep:1",
      "  model:       iris-sweep",
      `  data:        iris@${VERSION_ID}`,
      "  task:        multiclass, label species",
      "  search:      grid over learning_rate; 2 trials, 2 at once",
      "  objective:   val_accuracy (higher is better)",
      "  median rule: on, from epoch 5",
      "  created:     2024-05-01T12:00:00.000Z",
      "  ended:       2024-05-01T12:00:41.000Z (ran 41.0s)",
      "  best:        trial 2, val_accuracy 0.9545 (learning_rate=0.05)",
      "",
      [
        "TRIAL|PARAMETERS|STATE|VAL_ACCURACY|STOPPED EARLY|JOB",
        "1|learning_rate=0.000001|cancelled|0.3636|yes (median rule)|job-1",
        "2 *|learning_rate=0.05|succeeded|0.9545|-|job-2",
      ].join("\n"),
      "* the best trial",
    ]);

    const json = capture();
    await runSweepCommand(["show", ID, "--json"], transport, json.io);
    expect(JSON.parse(json.lines[0] ?? "")).toMatchObject({
      id: ID,
      state: "SWEEP_STATE_SUCCEEDED",
      bestTrial: 2,
      modelVersion: "iris-sweep:1",
    });
    await expect(runSweepCommand(["show"], transport, io.io)).rejects.toThrow(/show needs a sweep id/);
  });

  it("lists sweeps page after page", async () => {
    const seen: ListSweepsRequest[] = [];
    const transport = transportFor({
      listSweeps(req) {
        seen.push(req);
        if (req.pageToken === "") return { sweeps: [sweep({ id: "sweep-b" })], nextPageToken: "next" };
        return {
          sweeps: [
            create(SweepSchema, { ...PROGRESS[2], id: "sweep-a" }),
            sweep({ id: "sweep-0", state: SweepState.FAILED, reason: "no trial\nsucceeded" }),
          ],
        };
      },
    });
    const io = capture();
    expect(await runSweepCommand(["list"], transport, io.io)).toBe(0);
    expect(seen.map((r) => r.pageToken)).toEqual(["", "next"]);
    expect(io.lines[0]?.split("\n")).toEqual([
      "ID|STATE|MODEL|SEARCH|TRIALS|OBJECTIVE|BEST|CREATED|RESULT",
      "sweep-b|running|iris-sweep|grid|0/2|val_accuracy|-|2024-05-01T12:00:00.000Z|-",
      "sweep-a|succeeded|iris-sweep|grid|2/2|val_accuracy|trial 2: 0.9545|2024-05-01T12:00:00.000Z|iris-sweep:1",
      "sweep-0|failed|iris-sweep|grid|0/2|val_accuracy|-|2024-05-01T12:00:00.000Z|no trial\\nsucceeded",
    ]);

    const json = capture();
    await runSweepCommand(["list", "--json"], transport, json.io);
    expect(JSON.parse(json.lines[0] ?? "").map((s: { id: string }) => s.id)).toEqual([
      "sweep-b",
      "sweep-a",
      "sweep-0",
    ]);
    const none = capture();
    await runSweepCommand(["list"], transportFor({ listSweeps: () => ({ sweeps: [] }) }), none.io);
    expect(none.lines).toEqual(["no sweeps"]);
  });

  it("cancels a sweep", async () => {
    let seen: CancelSweepRequest | undefined;
    const transport = transportFor({
      cancelSweep(req) {
        seen = req;
        return {
          sweep: sweep({
            state: SweepState.CANCELLED,
            reason: "cancelled by a client",
            trials: [trial(1, { jobId: "job-1", state: JobState.CANCELLED }), trial(2)],
          }),
        };
      },
    });
    const io = capture();
    expect(await runSweepCommand(["cancel", ID], transport, io.io)).toBe(0);
    expect(seen?.id).toBe(ID);
    expect(io.lines).toEqual([
      `sweep ${ID} cancelled: cancelled by a client`,
      `its running trials stop within one batch (seam sweep show ${ID} shows them)`,
    ]);
    await expect(runSweepCommand(["cancel", ID, "x"], transport, io.io)).rejects.toThrow(/one sweep id/);
    await expect(runSweepCommand(["stop", ID], transport, io.io)).rejects.toThrow(
      /unknown sweep command "stop"/,
    );
  });
});

describe("sweep formatting", () => {
  it("prints parameters in the sweep's order, no hidden layer as none", () => {
    const spec = sweep({
      spec: {
        parameters: [
          { name: "hidden_units", values: ["16,16", ""] },
          { name: "activation", values: ["relu"] },
        ],
      },
    }).spec;
    expect(formatParameters({ activation: "relu", hidden_units: "16,16" }, spec)).toBe(
      "hidden_units=16,16 activation=relu",
    );
    expect(formatParameters({ hidden_units: "", epochs: "5" })).toBe("epochs=5 hidden_units=none");
  });

  it("reports only what changed between two looks at a sweep", () => {
    const [running, halfway, done] = PROGRESS as [Sweep, Sweep, Sweep];
    expect(sweepEvents(running, running)).toEqual([]);
    expect(sweepEvents(running, halfway)).toEqual([
      "trial 1 succeeded: val_accuracy 0.3636",
      "best so far: trial 1, val_accuracy 0.3636 (learning_rate=0.000001)",
    ]);
    // A trial ending makes room for the next: its end is told first.
    const oneRunning = sweep({ trials: [trial(1, { jobId: "job-1", state: JobState.RUNNING }), trial(2)] });
    const next = sweep({
      trials: [
        trial(1, { jobId: "job-1", state: JobState.CANCELLED, stoppedEarly: true, objective: 0.25 }),
        trial(2, { jobId: "job-2", state: JobState.RUNNING }),
      ],
    });
    expect(sweepEvents(oneRunning, next)).toEqual([
      "trial 1 stopped by the median rule: val_accuracy 0.2500",
      "trial 2 started: learning_rate=0.05 (job job-2)",
    ]);
    // A first look at an ended sweep tells its whole story, each trial's start before its end.
    expect(sweepEvents(undefined, done)).toEqual([
      "trial 1 started: learning_rate=0.000001 (job job-1)",
      "trial 2 started: learning_rate=0.05 (job job-2)",
      "trial 1 succeeded: val_accuracy 0.3636",
      "trial 2 succeeded: val_accuracy 0.9545",
      "best so far: trial 2, val_accuracy 0.9545 (learning_rate=0.05)",
      `sweep ${ID} succeeded: registered iris-sweep:1`,
    ]);
  });

  it("formats trial ends, the status line and a table of waiting trials", () => {
    const spec = sweep().spec;
    expect(
      formatTrialEnd(
        create(SweepSchema, { trials: [trial(3, { state: JobState.CANCELLED, jobId: "j" })] })
          .trials[0] as Sweep["trials"][number],
        spec,
      ),
    ).toBe("trial 3 cancelled");
    expect(formatSweepStatus(PROGRESS[1] as Sweep)).toBe(
      `${ID} 1/2 trials ended, 1 running, 0 waiting; best trial 1 val_accuracy 0.3636`,
    );
    expect(trialsTable(sweep()).rows).toEqual([
      ["1", "learning_rate=0.000001", "waiting", "-", "-", "-"],
      ["2", "learning_rate=0.05", "waiting", "-", "-", "-"],
    ]);
  });
});
