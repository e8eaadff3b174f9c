/** One holder's use of a shared instance. */
export interface SharedHandle<T> {
  readonly value: T;
  /** Gives the instance back; the last holder's release closes it. Idempotent. */
  release(): Promise<void>;
}

/**
 * One instance per key within a process, reference counted: embedded stores opened on
 * the same directory by services hosted together must be one instance (one LMDB
 * environment per process, one in-process event bus they all see).
 */
export class SharedInstances<T> {
  readonly #held = new Map<string, { readonly value: T; refs: number }>();

  constructor(
    private readonly open: (key: string) => T,
    private readonly close: (value: T) => Promise<void>,
  ) {}

  /** The instance for `key`, opened on first use. */
  acquire(key: string): SharedHandle<T> {
    let held = this.#held.get(key);
    if (held === undefined) {
      held = { value: this.open(key), refs: 0 };
      this.#held.set(key, held);
    }
    held.refs++;
    const entry = held;
    let released = false;
    return {
      value: entry.value,
      release: async () => {
        if (released) return;
        released = true;
        if (--entry.refs > 0) return;
        this.#held.delete(key);
        await this.close(entry.value);
      },
    };
  }
}
