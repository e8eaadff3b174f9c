/** Text rendering of sweeps for `seam sweep`: trial events, outcomes, tables. Pure. */
import {
  Direction,
  JobState,
  type Sweep,
  SweepAlgorithm,
  type SweepSpec,
  SweepState,
  Task,
  type Trial,
} from "@seam/proto/seam/training/v1/training_pb";
import { formatCell } from "./dataset-format.js";
import {
  describeData,
  elapsedMs,
  formatDuration,
  formatMetric,
  formatTime,
  isFinished,
  labelOf,
  stateName,
  taskName,
} from "./training-format.js";

// The service's default objective, and the metrics it minimizes when no direction is given.
const DEFAULT_OBJECTIVE = "val_loss";
const LOWER_IS_BETTER = new Set(["val_loss", "val_log_loss", "val_rmse", "val_mae"]);

/** The CLI's name of a sweep state. */
export function sweepStateName(state: SweepState): string {
  return state === SweepState.UNSPECIFIED
    ? "-"
    : (SweepState[state]?.toLowerCase() ?? `state ${state as number}`);
}

/** The objective a sweep compares trials on. */
export function objectiveOf(spec: SweepSpec | undefined): string {
  return spec?.objective || DEFAULT_OBJECTIVE;
}

/** Whether a sweep looks for the lowest objective (its direction, or the objective's own). */
export function minimizes(spec: SweepSpec | undefined): boolean {
  if (spec?.direction === Direction.MINIMIZE) return true;
  if (spec?.direction === Direction.MAXIMIZE) return false;
  return LOWER_IS_BETTER.has(objectiveOf(spec));
}

/** "val_accuracy (higher is better)". */
export function formatObjective(spec: SweepSpec | undefined): string {
  return `${objectiveOf(spec)} (${minimizes(spec) ? "lower" : "higher"} is better)`;
}

/**
 * A trial's parameters as "name=value" separated by spaces (values may hold ","), in the
 * order the sweep lists its parameters; no hidden layer is "hidden_units=none".
 */
export function formatParameters(parameters: Readonly<Record<string, string>>, spec?: SweepSpec): string {
  const order = spec?.parameters.map((p) => p.name) ?? [];
  const names = [
    ...order.filter((n) => Object.hasOwn(parameters, n)),
    ...Object.keys(parameters)
      .filter((n) => !order.includes(n))
      .sort(),
  ];
  return names
    .map((n) => {
      const value = parameters[n] ?? "";
      return `${n}=${n === "hidden_units" && value === "" ? "none" : value}`;
    })
    .join(" ");
}

/** A trial's objective as a figure, "-" before it has one. */
export function formatObjectiveValue(trial: Trial | undefined): string {
  return trial?.objective === undefined ? "-" : formatMetric(trial.objective);
}

/** Where a sweep is, as a line: "sweep s succeeded: registered iris-sweep:1". */
export function formatSweepState(sweep: Sweep): string {
  const { id, reason } = sweep;
  switch (sweep.state) {
    case SweepState.RUNNING:
      return `sweep ${id} running`;
    case SweepState.SUCCEEDED:
      return `sweep ${id} succeeded${sweep.modelVersion === "" ? "" : `: registered ${sweep.modelVersion}`}`;
    case SweepState.FAILED:
      return `sweep ${id} failed: ${reason === "" ? "no reason given" : reason}`;
    case SweepState.CANCELLED:
      return `sweep ${id} cancelled${reason === "" ? "" : `: ${reason}`}`;
    case SweepState.UNSPECIFIED:
      return `sweep ${id}`;
    default:
      return `sweep ${id} ${sweepStateName(sweep.state)}${reason === "" ? "" : ` (${reason})`}`;
  }
}

/** "grid over learning_rate, hidden_units" or "random, 20 draws over learning_rate". */
export function formatSearch(spec: SweepSpec | undefined): string {
  const names = spec?.parameters.map((p) => p.name).join(", ") ?? "-";
  if (spec?.algorithm === SweepAlgorithm.RANDOM)
    return `random, ${spec.trialCount} draws over ${names}, seed ${spec.seed}`;
  return `grid over ${names}`;
}

/**
 * The sweep in one line, as `seam sweep create` prints it: "iris-sweep from iris@…,
 * multiclass on species: 4 trials (grid over learning_rate), best val_accuracy (higher is
 * better), 2 at once".
 */
export function describeSweep(sweep: Sweep): string {
  const spec = sweep.spec;
  const base = spec?.base;
  const median = spec?.medianStopping === true ? ", median rule on" : "";
  return [
    `${base?.registration?.modelName ?? "?"} from ${describeData(base, "")}`,
    `${taskName(base?.task ?? Task.UNSPECIFIED)} on ${labelOf(base)}: ${sweep.trials.length} trials (${formatSearch(spec)})`,
    `best ${formatObjective(spec)}`,
    `${spec?.parallelism ?? "?"} at once${median}`,
  ].join(", ");
}

/** How a trial ended, as a line: "trial 1 stopped by the median rule: val_accuracy 0.3636". */
export function formatTrialEnd(trial: Trial, spec: SweepSpec | undefined): string {
  const objective = `${objectiveOf(spec)} ${formatObjectiveValue(trial)}`;
  switch (trial.state) {
    case JobState.SUCCEEDED:
      return `trial ${trial.number} succeeded: ${objective}`;
    case JobState.CANCELLED:
      return trial.stoppedEarly
        ? `trial ${trial.number} stopped by the median rule: ${objective}`
        : `trial ${trial.number} cancelled${trial.objective === undefined ? "" : `: ${objective}`}`;
    case JobState.FAILED:
      return `trial ${trial.number} failed (seam jobs show ${trial.jobId} says why)`;
    case JobState.QUEUED:
    case JobState.RUNNING:
    case JobState.UNSPECIFIED:
      return `trial ${trial.number} ${stateName(trial.state)}`;
    default:
      return `trial ${trial.number} ${stateName(trial.state)}`;
  }
}

/**
 * What happened between two looks at a sweep, one line per event: trials that ended, trials
 * that started (their job was created), a new best trial, and the sweep ending. `before`
 * undefined is the first look: everything so far is new then.
 */
export function sweepEvents(before: Sweep | undefined, after: Sweep): string[] {
  const spec = after.spec;
  const previous = new Map(before?.trials.map((t) => [t.number, t]));
  // A trial that ends makes room for the next to start, so ends come first, except for the
  // ends of trials that started since the last look.
  const ended: string[] = [];
  const started: string[] = [];
  const startedAndEnded: string[] = [];
  for (const trial of after.trials) {
    const was = previous.get(trial.number);
    const isNew = trial.jobId !== "" && (was?.jobId ?? "") === "";
    if (isNew) {
      started.push(
        `trial ${trial.number} started: ${formatParameters(trial.parameters, spec)} (job ${trial.jobId})`,
      );
    }
    if (isFinished(trial.state) && !isFinished(was?.state ?? JobState.UNSPECIFIED))
      (isNew ? startedAndEnded : ended).push(formatTrialEnd(trial, spec));
  }
  const lines = [...ended, ...started, ...startedAndEnded];
  if (after.bestTrial !== 0 && after.bestTrial !== (before?.bestTrial ?? 0)) {
    const best = after.trials.find((t) => t.number === after.bestTrial);
    lines.push(
      `best so far: trial ${after.bestTrial}, ${objectiveOf(spec)} ${formatObjectiveValue(best)} (${formatParameters(best?.parameters ?? {}, spec)})`,
    );
  }
  if (after.state !== SweepState.RUNNING && (before === undefined || before.state === SweepState.RUNNING))
    lines.push(formatSweepState(after));
  return lines;
}

/** Trials by where they are: ended, running, waiting (queued or not started). */
export function countTrials(sweep: Sweep): { ended: number; running: number; waiting: number } {
  let ended = 0;
  let running = 0;
  for (const trial of sweep.trials) {
    if (isFinished(trial.state)) ended++;
    else if (trial.state === JobState.RUNNING) running++;
  }
  return { ended, running, waiting: sweep.trials.length - ended - running };
}

/**
 * The status line of a followed sweep: "sweep-x 3/8 trials ended, 2 running, 3 waiting;
 * best trial 2 val_accuracy 0.9545".
 */
export function formatSweepStatus(sweep: Sweep): string {
  const { ended, running, waiting } = countTrials(sweep);
  const best = sweep.trials.find((t) => t.number === sweep.bestTrial);
  const bestText =
    best === undefined
      ? ""
      : `; best trial ${best.number} ${objectiveOf(sweep.spec)} ${formatObjectiveValue(best)}`;
  return `${sweep.id} ${ended}/${sweep.trials.length} trials ended, ${running} running, ${waiting} waiting${bestText}`;
}

/** What an ended sweep found: the best trial, its parameters, the registered version. */
export function formatSweepOutcome(sweep: Sweep): string[] {
  const lines: string[] = [];
  const best = sweep.trials.find((t) => t.number === sweep.bestTrial);
  if (best !== undefined) {
    lines.push(
      `  best:    trial ${best.number}, ${objectiveOf(sweep.spec)} ${formatObjectiveValue(best)} (job ${best.jobId})`,
    );
    lines.push(`  params:  ${formatParameters(best.parameters, sweep.spec)}`);
  }
  if (sweep.modelVersion !== "") {
    const alias = sweep.spec?.base?.registration?.alias ?? "";
    lines.push(`  model:   ${sweep.modelVersion}${alias === "" ? "" : ` (alias ${alias})`}`);
  }
  const tally = trialTally(sweep);
  const took = elapsedMs(sweep.createTime, sweep.endTime);
  if (tally !== "")
    lines.push(`  trials:  ${tally}${took === undefined ? "" : `, in ${formatDuration(took)}`}`);
  return lines;
}

/** "3 succeeded, 1 stopped by the median rule, 1 failed". */
function trialTally(sweep: Sweep): string {
  const counts = new Map<string, number>();
  for (const trial of sweep.trials) {
    const key =
      trial.jobId === ""
        ? "not started"
        : trial.state === JobState.CANCELLED && trial.stoppedEarly
          ? "stopped by the median rule"
          : stateName(trial.state);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => `${n} ${key}`).join(", ");
}

/** The lines of `seam sweep show` above the trials table. */
export function formatSweepSummary(sweep: Sweep): string[] {
  const spec = sweep.spec;
  const base = spec?.base;
  const lines = [`sweep ${sweep.id}`];
  const row = (label: string, value: string) => lines.push(`  ${`${label}:`.padEnd(12)} ${value}`);
  row("state", formatSweepState(sweep).replace(`sweep ${sweep.id} `, ""));
  const registration = base?.registration;
  if (registration !== undefined)
    row(
      "model",
      `${registration.modelName}${registration.alias === "" ? "" : `, alias ${registration.alias}`}`,
    );
  row("data", describeData(base, ""));
  row("task", `${taskName(base?.task ?? Task.UNSPECIFIED)}, label ${labelOf(base)}`);
  row("search", `${formatSearch(spec)}; ${sweep.trials.length} trials, ${spec?.parallelism ?? "?"} at once`);
  row("objective", formatObjective(spec));
  row(
    "median rule",
    spec?.medianStopping === true ? `on, from epoch ${spec.medianStoppingMinEpochs}` : "off",
  );
  row("created", formatTime(sweep.createTime));
  if (sweep.endTime !== undefined) {
    const took = elapsedMs(sweep.createTime, sweep.endTime);
    row("ended", `${formatTime(sweep.endTime)}${took === undefined ? "" : ` (ran ${formatDuration(took)})`}`);
  }
  const best = sweep.trials.find((t) => t.number === sweep.bestTrial);
  if (best !== undefined)
    row(
      "best",
      `trial ${best.number}, ${objectiveOf(spec)} ${formatObjectiveValue(best)} (${formatParameters(best.parameters, spec)})`,
    );
  return lines;
}

/** The trials of a sweep as a table; the best one's number is marked "*". */
export function trialsTable(sweep: Sweep): { header: string[]; rows: string[][] } {
  return {
    header: ["TRIAL", "PARAMETERS", "STATE", objectiveOf(sweep.spec).toUpperCase(), "STOPPED EARLY", "JOB"],
    rows: sweep.trials.map((t) => [
      `${t.number}${t.number === sweep.bestTrial ? " *" : ""}`,
      formatParameters(t.parameters, sweep.spec),
      t.jobId === "" ? "waiting" : stateName(t.state),
      formatObjectiveValue(t),
      t.stoppedEarly ? "yes (median rule)" : "-",
      t.jobId || "-",
    ]),
  };
}

/** Sweeps as the table of `seam sweep list`. */
export function sweepsTable(sweeps: readonly Sweep[]): { header: string[]; rows: string[][] } {
  return {
    header: ["ID", "STATE", "MODEL", "SEARCH", "TRIALS", "OBJECTIVE", "BEST", "CREATED", "RESULT"],
    rows: sweeps.map((s) => {
      const best = s.trials.find((t) => t.number === s.bestTrial);
      const result =
        s.state === SweepState.SUCCEEDED
          ? s.modelVersion || "-"
          : s.reason === ""
            ? "-"
            : formatCell(s.reason);
      return [
        s.id,
        sweepStateName(s.state),
        s.spec?.base?.registration?.modelName ?? "-",
        s.spec?.algorithm === SweepAlgorithm.RANDOM ? "random" : "grid",
        `${countTrials(s).ended}/${s.trials.length}`,
        objectiveOf(s.spec),
        best === undefined ? "-" : `trial ${best.number}: ${formatObjectiveValue(best)}`,
        formatTime(s.createTime),
        result,
      ];
    }),
  };
}
