/**
 * The reader endpoint's routing, pure: which targets serve read-only pools (the available
 * standbys, spread round-robin over new connections), what to do with none (wait, or use the
 * writer), and the generation that retires connections when that set changes.
 */
import { parseHostPort, type HostPort as Endpoint } from '../config/host-port.js';
import type { TargetHealth } from './writer.js';

export type WhenNoReader = 'wait' | 'writer';

/** The available READER targets, in target order. */
export function readerSet(healths: readonly TargetHealth[]): string[] {
  return healths.filter((h) => h.state === 'AVAILABLE' && h.role === 'READER').map((h) => h.endpoint);
}

export class ReaderRouting {
  private readers: string[] = [];
  private next = 0;
  /** Bumped whenever what reader pools connect to changes: their older connections retire. */
  generation = 0;

  constructor(public whenNoReader: WhenNoReader) {}

  get endpoints(): readonly string[] {
    return this.readers;
  }

  /** A new set of readers: true if it changed (reader pools then move to `generation`). */
  setReaders(readers: readonly string[]): boolean {
    if (readers.length === this.readers.length && readers.every((r, i) => r === this.readers[i])) return false;
    this.readers = [...readers];
    this.generation++;
    return true;
  }

  /** The writer changed: reader pools that fall back to it follow (true: they move to `generation`). */
  writerChanged(): boolean {
    if (this.readers.length > 0 || this.whenNoReader !== 'writer') return false;
    this.generation++;
    return true;
  }

  /** Where the next reader connection goes; undefined: nowhere now (reader pools wait). */
  target(writer: Endpoint | undefined): Endpoint | undefined {
    if (this.readers.length === 0) return this.whenNoReader === 'writer' ? writer : undefined;
    return parseHostPort(this.readers[this.next++ % this.readers.length]!);
  }

  /** Why reader pools must wait now, or undefined when they can connect. */
  holdReason(writer: Endpoint | undefined): string | undefined {
    if (this.readers.length > 0) return undefined;
    if (this.whenNoReader === 'wait') return 'no reader (standby) is available among the targets';
    return writer ? undefined : 'no reader is available, and no writer to fall back to';
  }
}
