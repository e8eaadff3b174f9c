import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { toJson } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  type Sweep,
  SweepSchema,
  SweepState,
  TrainingService,
} from "@seam/proto/seam/training/v1/training_pb";
import { UsageError } from "../args.js";
import type { Output } from "../output.js";
import { createStatusLine, type StatusLine } from "../progress.js";
import { parseSweepCreateArgs } from "./sweep-args.js";
import {
  describeSweep,
  formatSweepOutcome,
  formatSweepState,
  formatSweepStatus,
  formatSweepSummary,
  sweepEvents,
  sweepsTable,
  trialsTable,
} from "./sweep-format.js";
import type { WatchIo } from "./training.js";

type Training = Client<typeof TrainingService>;

export const SWEEP_USAGE = `seam sweep <command>   (talks to the gateway at SEAM_GATEWAY_URL, default http://127.0.0.1:8080)
  create <seam train's options> --param NAME=V1,V2,… [--param …] [options]
                                                    search hyperparameters: each trial is a training job of the base spec
                                                    \`seam train\`'s options give, and the best trial's model is registered
                                                    as --model-name; follows the sweep (Ctrl-C cancels it), exit code 1
                                                    when it fails or is cancelled
    --param NAME=V1,V2,…                            values to try of learning_rate, batch_size, epochs, dropout,
                                                    activation or optimizer; hidden_units separates its values with ";"
                                                    as "," separates layers: "hidden_units=16;16,16;none" tries one layer
                                                    of 16, two of 16, and none
    --param-range NAME=MIN:MAX[:log]                random search: draw learning_rate or dropout from [MIN, MAX]
                                                    (log-uniformly with :log)
    --algorithm grid|random [--trials N]            every combination of the values (default), or N random draws
    --parallelism 2                                 trials running at once
    --objective val_loss [--direction min|max]      the validation metric trials are compared on (by default lower
                                                    is better for losses and errors, higher otherwise)
    --median-stopping [--median-min-epochs 5]       stop a trial worse than the other trials' median at its epoch
    --seed 0                                        seeds the random draws and every trial's training
    --detach                                        create and return; \`seam sweep watch <id>\` follows it
  list [--json]                                     sweeps, newest first
  show <id> [--json]                                a sweep: its search, state and trials (the best one marked *)
  watch <id>                                        follow a sweep until it ends, as \`seam sweep create\` does
                                                    (Ctrl-C stops watching; the sweep goes on)
  cancel <id>                                       cancel a running sweep and its unfinished trials`;

const PAGE_SIZE = 500;
/** How often a followed sweep is read again (GetSweep). */
const POLL_MS = 500;
/** Polls in a row that may find the gateway unavailable before following gives up. */
const UNAVAILABLE_POLLS = 10;

/** How a command that follows a sweep talks to the terminal. */
export interface SweepIo extends WatchIo {
  /** Time between two reads of a followed sweep (ms); 500 when absent. */
  readonly pollMs?: number;
}

/**
 * Runs one `seam sweep` sub-command against the training service behind `transport`;
 * resolves to the exit code (`create` and `watch`: 1 when the sweep failed or was cancelled).
 */
export async function runSweepCommand(argv: string[], transport: Transport, io: SweepIo): Promise<number> {
  const [command, ...rest] = argv;
  const training = createClient(TrainingService, transport);
  switch (command) {
    case "create":
      return createSweep(training, rest, io);
    case "list":
      await listSweeps(training, rest, io.out);
      return 0;
    case "show":
      await showSweep(training, rest, io.out);
      return 0;
    case "watch": {
      const { sweep } = await training.getSweep({ id: sweepIdOf(rest, "watch") });
      if (sweep === undefined) throw new Error("the training service answered without the sweep");
      io.out.line(`following sweep ${sweep.id}: ${describeSweep(sweep)}`);
      return followSweep(training, sweep, io, { cancelOnInterrupt: false });
    }
    case "cancel":
      await cancelSweep(training, rest, io.out);
      return 0;
    default:
      throw new UsageError(
        command === undefined ? "missing sweep command" : `unknown sweep command "${command}"`,
      );
  }
}

/** `seam sweep create`: CreateSweep and, unless --detach, follow the sweep until it ends. */
async function createSweep(training: Training, argv: string[], io: SweepIo): Promise<number> {
  const { spec, detach } = parseSweepCreateArgs(argv);
  const { sweep } = await training.createSweep({ spec });
  if (sweep === undefined) throw new Error("the training service answered without the sweep");
  io.out.line(`created sweep ${sweep.id}: ${describeSweep(sweep)}`);
  if (detach) {
    io.out.line(`follow it with: seam sweep watch ${sweep.id}`);
    return 0;
  }
  return followSweep(training, sweep, io, { cancelOnInterrupt: true });
}

/**
 * Follows a sweep by reading it (GetSweep) every `pollMs`: a line whenever a trial starts,
 * ends or becomes the best, a status line on a TTY, then the outcome. The sweep's trials are
 * jobs of their own, so there is no stream to watch; a poll every half second is plenty for
 * trials that last seconds to hours. With `cancelOnInterrupt`, an interrupt cancels the
 * sweep; otherwise it only ends the following.
 */
async function followSweep(
  training: Training,
  first: Sweep,
  io: SweepIo,
  options: { readonly cancelOnInterrupt: boolean },
): Promise<number> {
  const { id } = first;
  const status: StatusLine | undefined =
    io.progress.isTTY === true ? createStatusLine({ stream: io.progress }) : undefined;
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  if (io.interrupt?.aborted === true) stop.abort();
  io.interrupt?.addEventListener("abort", onInterrupt, { once: true });
  let seen: Sweep | undefined;
  let sweep = first;
  let unavailable = 0;
  try {
    for (;;) {
      const lines = sweepEvents(seen, sweep);
      if (lines.length > 0) status?.clear();
      for (const line of lines) io.out.line(line);
      seen = sweep;
      if (sweep.state !== SweepState.RUNNING) break;
      status?.update(formatSweepStatus(sweep));
      await sleep(io.pollMs ?? POLL_MS, undefined, { signal: stop.signal });
      try {
        const { sweep: next } = await training.getSweep({ id }, { signal: stop.signal });
        if (next === undefined) throw new Error("the training service answered without the sweep");
        sweep = next;
        unavailable = 0;
      } catch (err) {
        // GetSweep has no side effects: a gateway restarting is waited for, a while.
        if (
          !(err instanceof ConnectError && err.code === Code.Unavailable) ||
          ++unavailable > UNAVAILABLE_POLLS
        )
          throw err;
      }
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  } finally {
    status?.clear();
    io.interrupt?.removeEventListener("abort", onInterrupt);
  }

  if (sweep.state === SweepState.RUNNING) {
    if (!options.cancelOnInterrupt) {
      io.err.write(`seam: stopped watching sweep ${id}; it goes on (seam sweep cancel ${id} stops it)\n`);
      return 1;
    }
    return cancelInterrupted(training, id, io.out);
  }
  for (const line of formatSweepOutcome(sweep)) io.out.line(line);
  return sweep.state === SweepState.SUCCEEDED ? 0 : 1;
}

/** Ctrl-C while `seam sweep create` follows its sweep: the sweep is cancelled, and the exit code says so. */
async function cancelInterrupted(training: Training, id: string, out: Output): Promise<number> {
  out.line(`interrupted: cancelling sweep ${id}`);
  let sweep: Sweep | undefined;
  try {
    ({ sweep } = await training.cancelSweep({ id }));
  } catch (err) {
    // It ended between the last read and the cancel: report how.
    if (!(err instanceof ConnectError) || err.code !== Code.FailedPrecondition) throw err;
    ({ sweep } = await training.getSweep({ id }));
  }
  if (sweep === undefined) throw new Error("the training service answered without the sweep");
  out.line(formatSweepState(sweep));
  for (const line of formatSweepOutcome(sweep)) out.line(line);
  return sweep.state === SweepState.SUCCEEDED ? 0 : 1;
}

async function listSweeps(training: Training, argv: string[], out: Output): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { json: { type: "boolean" } } });
  const sweeps: Sweep[] = [];
  let pageToken = "";
  do {
    const page = await training.listSweeps({ pageSize: PAGE_SIZE, pageToken });
    sweeps.push(...page.sweeps);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  if (values.json === true) return out.json(sweeps.map((s) => toJson(SweepSchema, s)));
  if (sweeps.length === 0) return out.line("no sweeps");
  const table = sweepsTable(sweeps);
  out.table(table.header, table.rows);
}

async function showSweep(training: Training, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: "boolean" } },
  });
  const { sweep } = await training.getSweep({ id: sweepIdOf(positionals, "show") });
  if (sweep === undefined) throw new Error("the training service answered without the sweep");
  if (values.json === true) return out.json(toJson(SweepSchema, sweep));
  for (const line of formatSweepSummary(sweep)) out.line(line);
  out.line("");
  const table = trialsTable(sweep);
  out.table(table.header, table.rows);
  if (sweep.bestTrial !== 0) out.line("* the best trial");
}

async function cancelSweep(training: Training, argv: string[], out: Output): Promise<void> {
  const id = sweepIdOf(argv, "cancel");
  const { sweep } = await training.cancelSweep({ id });
  if (sweep === undefined) throw new Error("the training service answered without the sweep");
  out.line(formatSweepState(sweep));
  if (sweep.trials.some((t) => t.jobId !== ""))
    out.line(`its running trials stop within one batch (seam sweep show ${id} shows them)`);
}

function sweepIdOf(positionals: readonly string[], command: string): string {
  const [id, ...extra] = positionals;
  if (id === undefined || id === "")
    throw new UsageError(`${command} needs a sweep id (seam sweep list shows them)`);
  if (extra.length > 0 || id.startsWith("-"))
    throw new UsageError(`${command} takes one sweep id, got "${positionals.join(" ")}"`);
  return id;
}
