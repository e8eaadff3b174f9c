/** A progress bar for long transfers, on stderr so stdout stays clean for results and --json. */

/** Where progress is drawn: a TTY is redrawn in place, anything else gets plain lines. */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  /** Terminal width; TTY lines are cut to it. */
  readonly columns?: number;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Shown first on every line, e.g. "upload iris.csv". */
  readonly label: string;
  /** Where to draw (stderr in the CLI). */
  readonly stream: ProgressStream;
  /** Total bytes, when known: enables the bar and percentage. */
  readonly total?: number;
  /** Total rows, when known and `total` is not: the percentage then counts rows. */
  readonly totalRows?: number;
  /** Clock in milliseconds; injectable for tests. */
  readonly now?: () => number;
  /** Least time between two redraws on a TTY (ms); 100 when absent. */
  readonly redrawMs?: number;
  /** Least time between two plain lines when not a TTY (ms); 5000 when absent. */
  readonly lineMs?: number;
}

/** A running progress display. */
export interface Progress {
  /** Records progress so far: `bytes` and `rows` are running totals, not increments. */
  update(bytes: number, rows?: number): void;
  /** Draws the final state (on a TTY, ending the line). Further calls do nothing. */
  done(): void;
}

const BAR_WIDTH = 24;
const ERASE_LINE = "\x1b[K";

/**
 * Creates a progress display: on a TTY a bar redrawn in place at most every `redrawMs`;
 * otherwise a plain line at most every `lineMs` (and at each further 25% when the total
 * is known), so logs of CI runs stay short. Either way {@link Progress.done} prints a last line.
 */
export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const tty = options.stream.isTTY === true;
  const interval = tty ? (options.redrawMs ?? 100) : (options.lineMs ?? 5000);
  const start = now();
  let bytes = 0;
  let rows: number | undefined;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let lastQuarter = 0;
  let finished = false;

  const state = (): ProgressState => ({
    label: options.label,
    bytes,
    rows,
    total: options.total,
    totalRows: options.totalRows,
    elapsedMs: now() - start,
  });

  const draw = (final: boolean) => {
    let line = renderProgress(state(), tty);
    // A line wider than the terminal wraps, and "\r" would then redraw only its last part.
    const width = options.stream.columns;
    if (tty && width !== undefined && width > 1 && line.length >= width) line = line.slice(0, width - 1);
    if (tty) options.stream.write(`\r${line}${ERASE_LINE}${final ? "\n" : ""}`);
    else options.stream.write(`${line}\n`);
    lastDraw = now();
  };

  return {
    update(nextBytes, nextRows) {
      if (finished) return;
      bytes = nextBytes;
      if (nextRows !== undefined) rows = nextRows;
      const fraction = fractionOf(state());
      const quarter = fraction === undefined ? 0 : Math.floor(fraction * 4);
      const due = now() - lastDraw >= interval;
      // Without a TTY each quarter gets a line even between timed lines: short transfers show some progress.
      if (due || (!tty && quarter > lastQuarter && quarter < 4)) {
        lastQuarter = Math.max(lastQuarter, quarter);
        draw(false);
      }
    },
    done() {
      if (finished) return;
      finished = true;
      draw(true);
    },
  };
}

/** What one progress line shows. */
export interface ProgressState {
  readonly label: string;
  readonly bytes: number;
  readonly rows: number | undefined;
  readonly total: number | undefined;
  readonly totalRows: number | undefined;
  readonly elapsedMs: number;
}

/**
 * One progress line, e.g. `upload iris.csv [######------] 50% 1.2 MB / 2.4 MB 3.1 MB/s 1,200 rows`;
 * the bar only on a TTY (plain lines read better in logs without it).
 */
export function renderProgress(s: ProgressState, withBar: boolean): string {
  const parts = [s.label];
  const fraction = fractionOf(s);
  if (fraction !== undefined) {
    if (withBar) {
      const filled = Math.round(fraction * BAR_WIDTH);
      parts.push(`[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`);
    }
    parts.push(`${Math.floor(fraction * 100)}%`.padStart(4));
  }
  parts.push(
    s.total === undefined ? formatBytes(s.bytes) : `${formatBytes(s.bytes)} / ${formatBytes(s.total)}`,
  );
  parts.push(formatRate(s.bytes, s.elapsedMs));
  if (s.rows !== undefined) {
    const of = s.totalRows === undefined ? "" : ` / ${s.totalRows.toLocaleString("en-US")}`;
    parts.push(`${s.rows.toLocaleString("en-US")}${of} rows`);
  }
  return parts.join(" ");
}

/** Done share in [0, 1] by bytes, else by rows; undefined when no total is known. */
function fractionOf(s: ProgressState): number | undefined {
  if (s.total !== undefined) return s.total <= 0 ? 1 : Math.min(1, s.bytes / s.total);
  if (s.totalRows !== undefined && s.rows !== undefined)
    return s.totalRows <= 0 ? 1 : Math.min(1, s.rows / s.totalRows);
  return undefined;
}

/** Bytes in decimal units, as people and network speeds count them: "512 B", "1.5 kB", "12.3 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Throughput in MB/s; "-- MB/s" before any time has passed. */
export function formatRate(bytes: number, elapsedMs: number): string {
  if (elapsedMs <= 0) return "-- MB/s";
  return `${(bytes / 1e6 / (elapsedMs / 1000)).toFixed(1)} MB/s`;
}

/** Options of {@link createStatusLine}. */
export interface StatusLineOptions {
  /** Where to draw (stderr in the CLI). */
  readonly stream: ProgressStream;
  /** Clock in milliseconds; injectable for tests. */
  readonly now?: () => number;
  /** Least time between two redraws on a TTY (ms); 100 when absent. */
  readonly redrawMs?: number;
  /** Least time between two plain lines when not a TTY (ms); 5000 when absent. */
  readonly lineMs?: number;
}

/** One line of free text kept up to date, for work whose size is not known ahead. */
export interface StatusLine {
  /** Shows `text` as the current state (drawn now, or at the next redraw that is due). */
  update(text: string): void;
  /** Draws the last state if it was not drawn yet (on a TTY, ending the line). Further calls do nothing. */
  done(): void;
  /**
   * Forgets the state and, on a TTY, takes the line off the screen, so other output can be
   * written where it stood; the next update draws at once. Without a TTY the lines already
   * written stay.
   */
  clear(): void;
}

/**
 * Creates a status line: on a TTY redrawn in place at most every `redrawMs`; otherwise a
 * plain line at most every `lineMs`, so logs stay short. Nothing is drawn before the first update.
 */
export function createStatusLine(options: StatusLineOptions): StatusLine {
  const now = options.now ?? Date.now;
  const tty = options.stream.isTTY === true;
  const interval = tty ? (options.redrawMs ?? 100) : (options.lineMs ?? 5000);
  let current: string | undefined;
  let drawn: string | undefined;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let finished = false;

  const draw = (final: boolean) => {
    if (current === undefined) return;
    let line = current;
    const width = options.stream.columns;
    if (tty && width !== undefined && width > 1 && line.length >= width) line = line.slice(0, width - 1);
    if (tty) options.stream.write(`\r${line}${ERASE_LINE}${final ? "\n" : ""}`);
    else if (current !== drawn) options.stream.write(`${line}\n`);
    drawn = current;
    lastDraw = now();
  };

  return {
    update(text) {
      if (finished) return;
      current = text;
      if (now() - lastDraw >= interval) draw(false);
    },
    done() {
      if (finished) return;
      finished = true;
      draw(true);
    },
    clear() {
      if (finished) return;
      current = undefined;
      if (!tty) return;
      if (drawn !== undefined) options.stream.write(`\r${ERASE_LINE}`);
      drawn = undefined;
      lastDraw = Number.NEGATIVE_INFINITY;
    },
  };
}
