/**
 * The parent's flags minus `--conditions`: a compiled worker entry must resolve the
 * workspace packages to their dist/ too, even under a parent resolving their TypeScript
 * sources (vitest passes `--conditions source`). Pass it as the Worker's `execArgv`.
 */
export function builtWorkerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--conditions" || arg === "-C") i++;
    else if (!arg.startsWith("--conditions=") && !arg.startsWith("-C=")) out.push(arg);
  }
  return out;
}
