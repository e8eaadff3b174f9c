import { Worker, type WorkerOptions } from "node:worker_threads";

/**
 * The parent's flags a worker thread can take: minus `--conditions`, since a compiled
 * worker entry must resolve the workspace packages to their dist/ even under a parent
 * resolving their TypeScript sources (vitest passes `--conditions source`); minus the
 * per-process V8 and process flags Node refuses in a Worker's `execArgv`
 * (ERR_WORKER_INVALID_EXEC_ARGV): `node --max-old-space-size=4096 seam up`, the usual way
 * to size a service's heap, would otherwise fail every dataset upload and training run.
 * Those flags still apply to the process; a worker shares its limits. And minus the
 * parent's own script (`-e`, `-p`) and `--input-type`, which is about that script: a
 * worker runs its entry file, and `--input-type` without a script fails it at start.
 */
export function builtWorkerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const name = arg.split("=", 1)[0] as string;
    if (WITH_VALUE.has(name)) {
      if (!arg.includes("=")) i++;
    } else if (!isProcessOnlyFlag(arg)) out.push(arg);
  }
  return out;
}

// Dropped with their value (`--flag value` or `--flag=value`).
const WITH_VALUE: ReadonlySet<string> = new Set([
  "--conditions",
  "-C",
  "--title",
  "--stack-size",
  "--input-type",
  "-e",
  "--eval",
  "-p",
  "--print",
]);

// V8 heap, stack and GC flags (in either spelling, dashes or underscores) and --title.
const PROCESS_ONLY = [
  "--max-old-space-size",
  "--max-semi-space-size",
  "--max-heap-size",
  "--initial-heap-size",
  "--initial-old-space-size",
  "--stack-size",
  "--expose-gc",
  "--title",
];

function isProcessOnlyFlag(arg: string): boolean {
  const name = (arg.split("=", 1)[0] as string).replaceAll("_", "-");
  return PROCESS_ONLY.includes(name);
}

/** Flags a Worker was refused with in this process, as Node named them. */
const refusedFlags = new Set<string>();

const INVALID_EXEC_ARGV = "ERR_WORKER_INVALID_EXEC_ARGV";

/**
 * Starts a worker thread on the parent's flags ({@link builtWorkerExecArgv} of `argv`).
 * Node refuses every V8 flag and more in a Worker's `execArgv` (`--trace-gc`,
 * `--stack-trace-limit=50`, `--abort-on-uncaught-exception`, `--perf-basic-prof` …), a
 * set that no list here can keep up with; so when it refuses some, naming them, the
 * worker starts without them, and later workers of the process leave them out at once.
 * The flags still apply to the process, as the heap limits do.
 */
export function startWorker(
  entry: URL | string,
  options: Omit<WorkerOptions, "execArgv"> = {},
  argv: readonly string[] = process.execArgv,
): Worker {
  const wanted = builtWorkerExecArgv(argv);
  for (;;) {
    const execArgv = wanted.filter((arg) => !refusedFlags.has(arg));
    try {
      return new Worker(entry, { ...options, execArgv });
    } catch (err) {
      // Each retry drops at least one more flag, so this ends.
      const refused = refusedIn(err).filter((flag) => execArgv.includes(flag));
      if (refused.length === 0) throw err;
      for (const flag of refused) refusedFlags.add(flag);
    }
  }
}

// Node: "Initiated Worker with invalid execArgv flags: --trace-gc, --stack-trace-limit=5".
function refusedIn(err: unknown): string[] {
  if (!(err instanceof Error) || (err as NodeJS.ErrnoException).code !== INVALID_EXEC_ARGV) return [];
  const list = err.message.split(": ").slice(1).join(": ");
  return list
    .split(", ")
    .map((flag) => flag.trim())
    .filter((flag) => flag !== "");
}
