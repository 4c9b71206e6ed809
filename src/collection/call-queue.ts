/**
 * The calls of one collection handle: writes run one at a time in call order, and every call still in
 * flight (writes and reads) is tracked so that close() can wait for them to settle.
 */
export class CallQueue {
  #tail: Promise<unknown> = Promise.resolve();
  readonly #inFlight = new Set<Promise<unknown>>();

  /** Runs `fn` once every earlier exclusive call has settled; `before` runs first (a check that may throw, such as "not closed"). */
  exclusive<T>(fn: () => Promise<T> | T, before: () => void): Promise<T> {
    const run = this.#tail.then(() => {
      before();
      return fn();
    });
    this.#tail = run.catch(() => undefined);
    return this.track(run);
  }

  /** Tracks `p` until it settles; returns it. */
  track<T>(p: Promise<T>): Promise<T> {
    this.#inFlight.add(p);
    const done = (): void => {
      this.#inFlight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  /** Resolves once every call in flight now has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }
}
