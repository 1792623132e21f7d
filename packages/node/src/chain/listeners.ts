/** Removes a listener. */
export type Unsubscribe = () => void;

/**
 * A small typed listener list. `emit` awaits listeners one after another (so events keep their
 * order) and hands a listener's error to `onError` instead of stopping the others.
 * @example const l = new Listeners<number>(); l.add((n) => log(n)); await l.emit(1, console.error);
 */
export class Listeners<T> {
  private readonly fns = new Set<(value: T) => unknown>();

  /** Adds a listener; returns its remover. @example const off = listeners.add(fn) */
  add(fn: (value: T) => unknown): Unsubscribe {
    // Wrap so that adding the same function twice gives two independent subscriptions.
    const wrapped = (v: T) => fn(v);
    this.fns.add(wrapped);
    return () => void this.fns.delete(wrapped);
  }

  get size(): number {
    return this.fns.size;
  }

  /** Calls every listener in order, awaiting each. @example await listeners.emit(v, onError) */
  async emit(value: T, onError: (error: unknown) => void): Promise<void> {
    for (const fn of [...this.fns]) {
      try {
        await fn(value);
      } catch (error) {
        onError(error);
      }
    }
  }

  /** Calls every listener synchronously, ignoring their results (for error listeners). @example listeners.emitSync(err) */
  emitSync(value: T): void {
    for (const fn of [...this.fns]) {
      try {
        const r = fn(value);
        if (r instanceof Promise) r.catch(() => undefined);
      } catch {
        // An error listener that throws has nowhere to report to.
      }
    }
  }
}
