/** A Clock whose time moves only when the test says so; timers fire in order as it advances. */
import type { Clock } from '../../../src/kube/clock.js';

interface Timer {
  at: number;
  delay: number;
  callback: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private time: number;
  private readonly timers: Timer[] = [];

  constructor(start = Date.UTC(2026, 0, 2, 3, 4, 5)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): { cancel(): void } {
    const timer: Timer = { at: this.time + ms, delay: ms, callback, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** The delays of the timers still waiting, in the order they were armed. */
  pendingDelays(): number[] {
    return this.timers.filter((t) => !t.cancelled).map((t) => t.delay);
  }

  /** Moves time on by `ms`, firing every timer that falls due (including ones armed meanwhile). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.time = Math.max(this.time, due.at);
      due.cancelled = true;
      due.callback();
    }
    this.time = end;
  }
}
