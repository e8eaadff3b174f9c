import type { ChainableCommander, Redis } from "ioredis";

type ScriptArg = string | Buffer | number;
/** A Lua script registered with `defineCommand`: EVALSHA, falling back to EVAL on NOSCRIPT. */
export type Script<R> = (numKeys: number, ...args: ScriptArg[]) => Promise<R>;

/**
 * Registers `lua` on the connection under `name` and returns a typed caller.
 * ioredis also defines `<name>Buffer`, whose replies keep bulk strings as Buffers;
 * `buffers` picks that variant.
 */
export function defineScript<R>(redis: Redis, name: string, lua: string, buffers = false): Script<R> {
  redis.defineCommand(name, { lua });
  const fn = (redis as unknown as Record<string, unknown>)[buffers ? `${name}Buffer` : name];
  if (typeof fn !== "function") throw new Error(`ioredis did not define the script command ${name}`);
  return (fn as (...args: ScriptArg[]) => Promise<R>).bind(redis);
}

/**
 * Queues a script registered with {@link defineScript} (under `name`) on a pipeline:
 * ioredis gives every pipeline of the connection a method per defined command.
 */
export function queueScript(
  pipeline: ChainableCommander,
  name: string,
  numKeys: number,
  ...args: ScriptArg[]
): void {
  const fn = (pipeline as unknown as Record<string, unknown>)[name];
  if (typeof fn !== "function") throw new Error(`the pipeline has no script command ${name}`);
  (fn as (...args: ScriptArg[]) => unknown).call(pipeline, numKeys, ...args);
}

/**
 * The replies of an executed pipeline, in order; throws the first command's error.
 * (ioredis resolves `exec()` with an `[error, reply]` pair per command.)
 */
export function pipelineReplies(results: Array<[Error | null, unknown]> | null): unknown[] {
  if (results === null) throw new Error("the Redis pipeline was discarded");
  return results.map(([err, reply]) => {
    if (err !== null) throw err;
    return reply;
  });
}
