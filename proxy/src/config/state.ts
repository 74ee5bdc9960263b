/**
 * Which config this proxy runs and what it last refused: the admin server's `/config`, which the
 * operator reads from every pod to count the pods on the current config and to show a refusal.
 * A config is named by its source's version (the config Secret's resourceVersion in a pod), never by
 * a hash of its text: the text holds passwords, and a hash of it would let anyone who can reach the
 * admin port test guesses offline.
 */

export interface ConfigRefusal {
  /** The source's version of the refused config, where it has one. */
  version?: string;
  problems: string[];
  at: string;
}

export interface ConfigReport {
  /** `Secret ns/name`, `file /path` or `flags`. */
  source: string;
  /** The version of the config running, where the source has versions. */
  version?: string;
  appliedAt: string;
  /** The last config refused since the running one was applied (the running one is kept). */
  refused?: ConfigRefusal;
}

export class ConfigState {
  private report: ConfigReport;

  constructor(
    source = 'flags',
    version?: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.report = { source, ...(version !== undefined && { version }), appliedAt: this.now().toISOString() };
  }

  /** The source this proxy reads its config from (set once, at start). */
  from(source: string, version?: string): void {
    this.report = { source, ...(version !== undefined && { version }), appliedAt: this.report.appliedAt };
  }

  /**
   * A config was applied: it runs now, and any earlier refusal is history. Without a version (a
   * RELOAD, which reads the source but not its version) the version is kept.
   */
  applied(version = this.report.version): void {
    this.report = { source: this.report.source, ...(version !== undefined && { version }), appliedAt: this.now().toISOString() };
  }

  /**
   * The source moved to a version with the same text as the last one delivered (a metadata-only
   * change of the Secret): if that text runs, this version runs; if it was refused, so is this one.
   */
  unchanged(version: string): void {
    const r = this.report.refused;
    this.report = r ? { ...this.report, refused: { ...r, version } } : { ...this.report, version };
  }

  refused(problems: string[], version?: string): void {
    this.report = { ...this.report, refused: { ...(version !== undefined && { version }), problems, at: this.now().toISOString() } };
  }

  snapshot(): ConfigReport {
    return structuredClone(this.report);
  }
}
