import { InvalidArgumentError } from "@seam/kit/errors";
import { CELL_NULL, CELL_TEXT, IN_SCRATCH, Row, type RowTarget } from "./rows.js";

const QUOTE = 34;
const LF = 10;
const CR = 13;
/** Above this size an incomplete record waits for as many new bytes as it holds before a rescan. */
const LARGE_RECORD = 1 << 20;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function countLineFeeds(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = buf.indexOf(LF, from); i >= 0 && i < to; i = buf.indexOf(LF, i + 1)) n++;
  return n;
}

/**
 * RFC 4180 CSV reader: a byte-level state machine over the input buffers. Records are
 * cut at line feeds outside quotes (CRLF or LF); fields at the delimiter; `""` inside a
 * quoted field is one quote. An empty unquoted field is null, `""` an empty string.
 * The first record is the header. Line numbers are physical lines, newlines inside
 * quoted fields included.
 *
 * Chunk boundaries do not matter: an incomplete record is kept and completed with only
 * as many bytes of the next chunk as it needs, so most bytes are scanned once, in place.
 */
export class CsvReader {
  private carry: Buffer | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private line = 1;
  private columns = -1;
  private names: string[] = [];
  private readonly row = new Row();

  constructor(
    private readonly delimiter: number,
    /** Where rows go; replaced when it reports a contradiction. */
    public target: RowTarget,
    /** Called when the target refuses a row; returns the target to resend it to. */
    private readonly contradiction: () => RowTarget = () => {
      throw new Error("the target refused a row but no fallback is set");
    },
  ) {}

  /** True once the header has been read. */
  get hasHeader(): boolean {
    return this.columns >= 0;
  }

  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buf.length === 0) return;
    const carry = this.carry;
    if (carry === undefined) {
      this.keepRest(buf, this.parse(buf, 0, false));
      return;
    }
    if (carry.length > LARGE_RECORD) {
      // Amortizes huge records: rescanning on every small chunk would be quadratic.
      this.pending.push(buf);
      this.pendingBytes += buf.length;
      if (this.pendingBytes < carry.length) return;
      this.carry = undefined;
      const all = Buffer.concat([carry, ...this.pending]);
      this.pending = [];
      this.pendingBytes = 0;
      this.keepRest(all, this.parse(all, 0, false));
      return;
    }
    // Complete the carried record with a growing prefix of the chunk, then go on in place.
    for (let take = Math.min(buf.length, Math.max(4096, carry.length)); ; ) {
      const bridge = Buffer.concat([carry, buf.subarray(0, take)]);
      const used = this.parse(bridge, 0, false);
      if (used > carry.length) {
        this.carry = undefined;
        this.keepRest(buf, this.parse(buf, used - carry.length, false));
        return;
      }
      if (take === buf.length) {
        this.carry = bridge;
        return;
      }
      take = Math.min(buf.length, take * 2);
    }
  }

  /** Parses what is left at the end of the input. */
  end(): void {
    const parts = [...(this.carry ? [this.carry] : []), ...this.pending];
    this.carry = undefined;
    this.pending = [];
    if (parts.length > 0) {
      const all = Buffer.concat(parts);
      this.parse(all, 0, true);
    }
  }

  private keepRest(buf: Buffer, used: number): void {
    this.carry = used < buf.length ? buf.subarray(used) : undefined;
  }

  /**
   * Emits every complete record of `buf` from `pos`; returns where the first incomplete
   * one starts (at `eof` everything is complete or an error).
   */
  private parse(buf: Buffer, pos: number, eof: boolean): number {
    const len = buf.length;
    const delim = this.delimiter;
    const row = this.row;
    row.main = buf;
    while (pos < len) {
      let i = pos;
      let fields = 0;
      let lineFeeds = 0;
      row.scratchUsed = 0;
      for (;;) {
        if (fields === row.tags.length) row.ensure(fields + 1);
        if (i < len && buf[i] === QUOTE) {
          const start = i + 1;
          let j = start;
          let escaped = false;
          let end: number;
          for (;;) {
            const q = buf.indexOf(QUOTE, j);
            if (q < 0) {
              if (!eof) return pos;
              throw new InvalidArgumentError(`line ${this.line + lineFeeds}: unterminated quoted field`);
            }
            if (q + 1 >= len && !eof) return pos;
            if (buf[q + 1] === QUOTE) {
              escaped = true;
              j = q + 2;
              continue;
            }
            end = q;
            i = q + 1;
            break;
          }
          const fieldLine = this.line + lineFeeds;
          lineFeeds += countLineFeeds(buf, start, end);
          if (escaped) {
            const at = row.reserveScratch(end - start);
            let w = at;
            const scratch = row.scratch;
            for (let k = start; k < end; k++) {
              const c = buf[k] as number;
              scratch[w++] = c;
              if (c === QUOTE) k++;
            }
            row.scratchUsed = w;
            row.tags[fields] = CELL_TEXT | IN_SCRATCH;
            row.starts[fields] = at;
            row.ends[fields] = w;
          } else {
            row.tags[fields] = CELL_TEXT;
            row.starts[fields] = start;
            row.ends[fields] = end;
          }
          fields++;
          if (i >= len) break;
          const c = buf[i];
          if (c === delim) {
            i++;
            continue;
          }
          if (c === LF) {
            i++;
            lineFeeds++;
            break;
          }
          if (c === CR && (i + 1 >= len || buf[i + 1] === LF)) {
            if (i + 1 >= len && !eof) return pos;
            i += i + 1 < len ? 2 : 1;
            lineFeeds++;
            break;
          }
          const column = this.columns >= 0 ? `, column "${this.names[fields - 1]}"` : "";
          throw new InvalidArgumentError(`line ${fieldLine}${column}: unexpected text after a closing quote`);
        }
        let j = i;
        while (j < len) {
          const c = buf[j];
          if (c === delim || c === LF) break;
          j++;
        }
        if (j >= len && !eof) return pos;
        let end = j;
        if ((j >= len || buf[j] === LF) && end > i && buf[end - 1] === CR) end--;
        row.tags[fields] = end === i ? CELL_NULL : CELL_TEXT;
        row.starts[fields] = i;
        row.ends[fields] = end;
        fields++;
        if (j < len && buf[j] === delim) {
          i = j + 1;
          continue;
        }
        if (j < len) lineFeeds++;
        i = j + 1;
        break;
      }
      row.count = fields;
      row.line = this.line;
      this.line += lineFeeds;
      pos = Math.min(i, len);
      this.emit(row);
    }
    return pos;
  }

  private emit(row: Row): void {
    if (this.columns < 0) {
      this.readHeader(row);
      return;
    }
    if (row.count !== this.columns) {
      throw new InvalidArgumentError(
        `line ${row.line}: ${row.count} ${row.count === 1 ? "field" : "fields"}, the header has ${this.columns}`,
      );
    }
    if (!this.target.row(row)) {
      this.target = this.contradiction();
      this.target.row(row);
    }
  }

  private readHeader(row: Row): void {
    const names: string[] = [];
    const seen = new Map<string, number>();
    for (let c = 0; c < row.count; c++) {
      const buf = ((row.tags[c] as number) & IN_SCRATCH) !== 0 ? row.scratch : row.main;
      let name: string;
      try {
        name = utf8.decode(buf.subarray(row.starts[c] as number, row.ends[c] as number));
      } catch {
        throw new InvalidArgumentError(`line 1: column ${c + 1} has a name that is not valid UTF-8`);
      }
      if (name === "") throw new InvalidArgumentError(`line 1: column ${c + 1} has an empty name`);
      const first = seen.get(name);
      if (first !== undefined) {
        throw new InvalidArgumentError(
          `line 1: duplicate column name "${name}" (columns ${first + 1} and ${c + 1})`,
        );
      }
      seen.set(name, c);
      names.push(name);
    }
    this.columns = names.length;
    this.names = names;
    this.target.header(names);
  }
}
