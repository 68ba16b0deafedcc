/**
 * Group commit: check-and-write steps that arrive while one commit is being
 * prepared run together in one storage transaction, and each caller is
 * answered after that commit (the output gate holds the answers until the
 * write is durable). The batch is taken on the next macrotask, so RPCs that
 * arrived meanwhile join it; each step itself is synchronous (no await
 * between its read and its write), and the steps see each other's writes.
 */
export class GroupCommit {
  private pending: { step: () => unknown; resolve: (r: unknown) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    /** Runs the batch atomically (the actor's `transact`). */
    private readonly transact: <T>(change: () => T) => T,
    /** Called once after a batch committed (e.g. to start the outbox relay). */
    private readonly afterCommit: () => void,
  ) {}

  /** Queues a synchronous check-and-write; resolves with its result once the batch it joined is committed. */
  submit<R>(step: () => R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ step, resolve: resolve as (r: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setTimeout(() => this.flush(), 0);
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    let results: unknown[];
    try {
      results = this.transact(() => batch.map((p) => p.step()));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.afterCommit();
    batch.forEach((p, i) => p.resolve(results[i]));
  }
}
