/**
 * The parent's flags a worker thread can take: minus `--conditions`, since a compiled
 * worker entry must resolve the workspace packages to their dist/ even under a parent
 * resolving their TypeScript sources (vitest passes `--conditions source`), and minus the
 * per-process V8 and process flags Node refuses in a Worker's `execArgv`
 * (ERR_WORKER_INVALID_EXEC_ARGV): `node --max-old-space-size=4096 seam up`, the usual way
 * to size a service's heap, would otherwise fail every dataset upload and training run.
 * Those flags still apply to the process; a worker shares its limits.
 */
export function builtWorkerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--conditions" || arg === "-C") i++;
    else if (arg === "--title" || arg === "--stack-size") i++;
    else if (!arg.startsWith("--conditions=") && !arg.startsWith("-C=") && !isProcessOnlyFlag(arg))
      out.push(arg);
  }
  return out;
}

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
