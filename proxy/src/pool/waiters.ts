/**
 * A pool's borrowers in arrival order. One that gives up leaves a hole instead of a splice (giving
 * up is rare, taking the oldest is hot); holes are skipped, and compacted away as the head passes.
 */
export class WaiterQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  push(item: T): void {
    this.items.push(item);
    this.count++;
  }

  /** The oldest, if any. */
  peek(): T | undefined {
    return this.at(0);
  }

  /** The k-th oldest (0: the oldest), if there are that many. */
  at(k: number): T | undefined {
    for (let i = this.head; i < this.items.length; i++) {
      const e = this.items[i];
      if (e !== undefined && k-- === 0) return e;
    }
    return undefined;
  }

  /** Takes out the oldest. */
  shift(): T | undefined {
    while (this.head < this.items.length) {
      const e = this.items[this.head];
      this.items[this.head++] = undefined;
      if (e !== undefined) {
        this.count--;
        this.compact();
        return e;
      }
    }
    this.compact();
    return undefined;
  }

  /** Takes out the oldest item `match` accepts; false if there is none. */
  remove(match: (item: T) => boolean): boolean {
    for (let i = this.head; i < this.items.length; i++) {
      const e = this.items[i];
      if (e !== undefined && match(e)) {
        this.items[i] = undefined;
        this.count--;
        this.compact();
        return true;
      }
    }
    return false;
  }

  private compact(): void {
    while (this.items.length > this.head && this.items[this.items.length - 1] === undefined) this.items.pop();
    if (this.head >= this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
