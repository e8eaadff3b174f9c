import type { MetaStore } from "@seam/kit/storage";
import { SweepSchema, SweepState } from "@seam/proto/seam/training/v1/training_pb";
import { RecordStore } from "../jobs/record-store.js";
import { driveSweep, type SweepDeps } from "./controller.js";

/** Runs the controllers of the sweeps this process drives. */
export class SweepRunner {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();

  constructor(private readonly deps: SweepDeps) {}

  /** Starts driving a sweep (no-op when already driven here). */
  start(id: string): void {
    if (this.running.has(id)) return;
    const abort = new AbortController();
    const done = driveSweep(id, this.deps, abort.signal)
      .catch((err: unknown) => this.fail(id, err))
      .finally(() => this.running.delete(id));
    this.running.set(id, { abort, done });
  }

  /** Drives the sweeps an earlier process left RUNNING (embedded: this process owns them). */
  async recover(): Promise<number> {
    let recovered = 0;
    for await (const sweep of this.deps.sweeps.all()) {
      if (sweep.state !== SweepState.RUNNING) continue;
      this.start(sweep.id);
      recovered++;
    }
    return recovered;
  }

  /** Stops driving (the sweeps stay RUNNING, picked up again at the next start). */
  async close(): Promise<void> {
    const runs = [...this.running.values()];
    for (const run of runs) run.abort.abort();
    await Promise.allSettled(runs.map((r) => r.done));
  }

  private async fail(id: string, err: unknown): Promise<void> {
    this.deps.logger.error({ err, sweep: id }, "sweep failed");
    await this.deps.sweeps
      .update(id, (s) => {
        if (s.state !== SweepState.RUNNING) return false;
        s.state = SweepState.FAILED;
        s.reason = err instanceof Error ? err.message : String(err);
        return true;
      })
      .catch(() => {});
  }
}

/** The store of sweeps in the training namespace (`<ns>s/<id>`). */
export function sweepStore(meta: MetaStore, ns = "training/"): RecordStore<typeof SweepSchema> {
  return new RecordStore(meta, SweepSchema, `${ns}s/`, "sweep");
}
