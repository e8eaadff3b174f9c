import { spawn } from "node:child_process";
import { SEAM_NODE_FLAGS } from "@seam/cli";

/**
 * Runs a Node script in a child process, started with Seam's node flags as its launchers
 * start it (SEAM_NODE_FLAGS), and resolves once its stdout has printed a line
 * `<name> <address>` (leading blanks allowed, as `seam up` indents them) for every name;
 * `stop()` sends SIGTERM (the servers drain) and waits for the exit. `pid` lets a benchmark
 * read the child's CPU time (/proc/<pid>/stat).
 */
export async function startChild(
  script: string,
  names: readonly string[],
  options: { args?: readonly string[]; env?: Record<string, string>; nodeArgs?: readonly string[] } = {},
): Promise<{ addresses: Map<string, string>; pid: number; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [...SEAM_NODE_FLAGS, ...(options.nodeArgs ?? []), script, ...(options.args ?? [])],
    {
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    const addresses = await new Promise<Map<string, string>>((resolve, reject) => {
      let text = "";
      const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${text}`)), 30_000);
      void exited.then(() => reject(new Error(`${script} exited:\n${text}`)));
      child.stdout.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        const found = new Map<string, string>();
        for (const name of names) {
          const address = new RegExp(`^\\s*${name}\\s+(\\S+)`, "m").exec(text)?.[1];
          if (address !== undefined) found.set(name, address);
        }
        if (found.size === names.length) {
          clearTimeout(timer);
          resolve(found);
        }
      });
    });
    return { addresses, pid: child.pid ?? 0, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
