// The admission times of one budget, oldest first. Exact sliding windows need the times themselves:
// memory is bounded by the calls admitted within one window (at most `max`), never more.
export class SlidingLog {
  private times: number[] = [];
  private head = 0;
  /** Window of the last check, so a sweep knows when the whole log has expired. */
  windowMs = 0;

  get size(): number {
    return this.times.length - this.head;
  }

  get newest(): number {
    return this.times[this.times.length - 1] ?? Number.NEGATIVE_INFINITY;
  }

  /** Drops admissions at or before `cutoff` (they no longer count). */
  prune(cutoff: number): void {
    const times = this.times;
    let head = this.head;
    while (head < times.length && (times[head] as number) <= cutoff) head++;
    if (head > 64 && head * 2 > times.length) {
      this.times = times.slice(head);
      this.head = 0;
    } else {
      this.head = head;
    }
  }

  /** The admission time at `index`, counting from the oldest still in the log. */
  at(index: number): number {
    return this.times[this.head + index] as number;
  }

  push(time: number): void {
    this.times.push(time);
  }

  /** Removes one admission recorded at `time`; false when there is none. */
  remove(time: number): boolean {
    for (let i = this.times.length - 1; i >= this.head; i--) {
      if (this.times[i] === time) {
        this.times.splice(i, 1);
        return true;
      }
      if ((this.times[i] as number) < time) return false;
    }
    return false;
  }
}
