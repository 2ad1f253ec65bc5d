type Waiter = readonly [resolve: () => void, reject: (e: unknown) => void];

/**
 * Group commit, as steno does: one write at a time; data given while a write runs waits, and only
 * the latest of it is written next, for every waiter at once. Each waiter settles only with a write
 * that carries its data (or data given after it), and a failed write fails only its own waiters.
 */
export class GroupCommit<T> {
  #busy = false;
  #next: { data: T; waiters: Waiter[] } | null = null;

  constructor(private readonly writeOnce: (data: T) => Promise<void>) {}

  /** True while a write runs. */
  get busy(): boolean {
    return this.#busy;
  }

  write(data: T): Promise<void> {
    if (!this.#busy) return this.#run(data);
    return new Promise((resolve, reject) => {
      this.#next ??= { data, waiters: [] };
      this.#next.data = data;
      this.#next.waiters.push([resolve, reject]);
    });
  }

  async #run(data: T): Promise<void> {
    this.#busy = true;
    try {
      await this.writeOnce(data);
    } finally {
      this.#busy = false;
      const next = this.#next;
      this.#next = null;
      if (next) void this.#run(next.data).then(() => next.waiters.forEach(([ok]) => ok()), (e: unknown) => next.waiters.forEach(([, fail]) => fail(e)));
    }
  }
}
