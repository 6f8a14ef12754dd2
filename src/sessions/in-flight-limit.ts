/**
 * The store calls this process has outstanding, up to USHER_MAX_IN_FLIGHT (docs/architecture.md,
 * "Bounds"). A call counts from the moment it is written until Redis answers it or the
 * connection fails it, not until its caller stops waiting: a call given up on at the deadline
 * still runs in Redis, and that backlog is what the bound keeps from growing.
 */
export class InFlightLimit {
  private outstanding = 0;

  /** Call once when a started call settles (bound, so it can be handed over as is). */
  readonly landed = (): void => {
    this.outstanding--;
  };

  constructor(private readonly max: number) {}

  /** Counts one more call, or returns false (counting nothing) when the bound is reached. */
  tryStart(): boolean {
    if (this.outstanding >= this.max) return false;
    this.outstanding++;
    return true;
  }

  get count(): number {
    return this.outstanding;
  }
}
