import type { Redis } from "ioredis";

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
