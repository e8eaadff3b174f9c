import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root and the built `seam` executable (`npm test` builds first). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const seamBin = join(repoRoot, "cli", "dist", "main.js");

/** A running `seam` process with its output so far. */
export interface SeamProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout (already seen or still to come). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Starts `node cli/dist/main.js <args>` with a clean environment (no OTEL_* or
 * NODE_OPTIONS of the test runner leaking in) plus `env`.
 */
export function startSeam(args: readonly string[], env: Record<string, string> = {}): SeamProcess {
  if (!existsSync(seamBin)) throw new Error(`${seamBin} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [seamBin, ...args], {
    cwd: repoRoot,
    env: { ...cleanEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = out.match(pattern);
          if (match === null) return false;
          cleanup();
          resolve(match);
          return true;
        };
        const onExit = (code: number | null): void => {
          cleanup();
          reject(
            new Error(`seam ${args.join(" ")} exited (${code}) before printing ${pattern}\n${out}\n${err}`),
          );
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern} from seam ${args.join(" ")}\n${out}\n${err}`));
        }, timeoutMs);
        const onData = (): void => {
          check();
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off("data", onData);
          child.off("exit", onExit);
        };
        if (check()) return;
        child.stdout?.on("data", onData);
        child.once("exit", onExit);
      });
    },
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      // A full suite on two busy cores can take a while to drain; past the grace period the
      // process is killed (exit code null) and its last output is shown to say why.
      const timer = setTimeout(() => {
        process.stderr.write(
          `seam ${args.join(" ")} did not exit ${graceMs} ms after SIGTERM; killing it. Last output:\n${out.slice(-2000)}\n${err.slice(-2000)}\n`,
        );
        child.kill("SIGKILL");
      }, graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs a `seam` command to completion; resolves with its exit code and output. */
export async function runSeam(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = startSeam(args, env);
  // "close" (not "exit") fires after stdout and stderr are fully read.
  const code = await new Promise<number | null>((resolve) =>
    proc.child.once("close", (c: number | null) => resolve(c)),
  );
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith("OTEL_") || key === "NODE_OPTIONS" || key.startsWith("VITEST"))
      continue;
    env[key] = value;
  }
  return env;
}
