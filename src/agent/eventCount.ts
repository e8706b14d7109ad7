/**
 * Counts the kernel events `ip monitor` reports for the pod's namespace, so that a pass can tell
 * whether a reading of the namespace taken earlier still holds: the count is the same only if no
 * link, address, route or rule changed since. While the monitor is not running, or has only just
 * started (its netlink subscription may not be in place yet), there is no count to trust.
 */
export class EventCount {
  private count = 0;
  /** When the running monitor is taken to be subscribed; undefined while none runs. */
  private listeningFrom: number | undefined;

  constructor(
    private readonly now: () => number,
    /** How long after its start the monitor is taken to be subscribed. */
    private readonly settleMs = 1_000,
  ) {}

  /** The monitor (re)started. */
  started(): void {
    this.count++;
    this.listeningFrom = this.now() + this.settleMs;
  }

  /** The monitor ended: events may be missed until it runs again. */
  stopped(): void {
    this.count++;
    this.listeningFrom = undefined;
  }

  event(): void {
    this.count++;
  }

  /** The count now, or undefined while no monitor is known to be listening. */
  current(): number | undefined {
    return this.listeningFrom !== undefined && this.now() >= this.listeningFrom ? this.count : undefined;
  }
}
