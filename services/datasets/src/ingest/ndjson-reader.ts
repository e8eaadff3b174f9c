import { InvalidArgumentError } from "@seam/kit/errors";
import {
  CELL_JSON_FALSE,
  CELL_JSON_NUMBER,
  CELL_JSON_STRING,
  CELL_JSON_TRUE,
  CELL_NULL,
  IN_SCRATCH,
  Row,
  type RowTarget,
} from "./rows.js";

const LF = 10;
const QUOTE = 34;
const BACKSLASH = 92;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function isSpace(c: number | undefined): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** Signals that the target refused the line; the reader switches target and parses it again. */
const REFUSED = Symbol("refused");

/**
 * NDJSON reader: one flat JSON object per line; values are strings, numbers, booleans or
 * null (nested objects and arrays are refused). Keys become columns in order of first
 * appearance; a missing key is null. Blank lines are skipped. Numbers keep their source
 * text, so `1.0` stays a float and int64 beyond 2^53 stays exact.
 */
export class NdjsonReader {
  private carry: Buffer | undefined;
  private line = 0;
  private readonly names: string[] = [];
  private readonly nameBytes: Buffer[] = [];
  private readonly index = new Map<string, number>();
  /** Per column, the parse that last set it (duplicate-key detection without clearing). */
  private seen = new Float64Array(16);
  private stamp = 0;
  private readonly row = new Row();

  constructor(
    public target: RowTarget,
    private readonly contradiction: () => RowTarget = () => {
      throw new Error("the target refused a row but no fallback is set");
    },
    /** Known columns, in order (the schema being converted to). */
    columns: readonly string[] = [],
  ) {
    for (const name of columns) this.register(name);
  }

  /** Lines read so far that held an object. */
  rows = 0;

  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    if (this.carry !== undefined) {
      const lf = buf.indexOf(LF);
      if (lf < 0) {
        this.carry = Buffer.concat([this.carry, buf]);
        return;
      }
      const line = Buffer.concat([this.carry, buf.subarray(0, lf)]);
      this.carry = undefined;
      this.parseLine(line, 0, line.length);
      pos = lf + 1;
    }
    for (let lf = buf.indexOf(LF, pos); lf >= 0; lf = buf.indexOf(LF, pos)) {
      this.parseLine(buf, pos, lf);
      pos = lf + 1;
    }
    if (pos < buf.length) this.carry = buf.subarray(pos);
  }

  end(): void {
    if (this.carry !== undefined) {
      const line = this.carry;
      this.carry = undefined;
      this.parseLine(line, 0, line.length);
    }
  }

  private register(name: string): number {
    const c = this.names.length;
    this.names.push(name);
    this.nameBytes.push(Buffer.from(name));
    this.index.set(name, c);
    if (c >= this.seen.length) {
      const seen = new Float64Array(this.seen.length * 2);
      seen.set(this.seen);
      this.seen = seen;
    }
    return c;
  }

  private parseLine(buf: Buffer, start: number, end: number): void {
    this.line++;
    let i = start;
    while (i < end && isSpace(buf[i])) i++;
    if (i === end) return;
    if (buf[i] !== 123) throw new InvalidArgumentError(`line ${this.line}: not a JSON object`);
    for (;;) {
      const result = this.parseObject(buf, i, end);
      if (result !== REFUSED) break;
      this.target = this.contradiction();
    }
    this.rows++;
  }

  private invalid(buf: Buffer, i: number, end: number, lineStart: number): InvalidArgumentError {
    if (i >= end) return new InvalidArgumentError(`line ${this.line}: invalid JSON (unexpected end of line)`);
    const ch = String.fromCharCode(buf[i] as number);
    return new InvalidArgumentError(
      `line ${this.line}: invalid JSON (unexpected ${JSON.stringify(ch)} at character ${i - lineStart + 1})`,
    );
  }

  /** Parses the object at `buf[i] === "{"` and sends the row; REFUSED when the target refused it. */
  private parseObject(buf: Buffer, open: number, end: number): typeof REFUSED | undefined {
    const row = this.row;
    const line = this.line;
    const stamp = ++this.stamp;
    row.main = buf;
    row.line = line;
    row.scratchUsed = 0;
    row.ensure(this.names.length);
    row.tags.fill(CELL_NULL, 0, this.names.length);
    let i = open + 1;
    let expected = 0;
    while (i < end && isSpace(buf[i])) i++;
    if (buf[i] === 125) {
      i++;
    } else {
      for (;;) {
        if (buf[i] !== QUOTE) throw this.invalid(buf, i, end, open);
        const keyStart = i + 1;
        const keyEnd = this.scanString(buf, keyStart, end, open);
        let c = this.columnOf(buf, keyStart, keyEnd, expected);
        if (c < 0) {
          const name = this.decodeString(buf, keyStart, keyEnd, keyEnd > keyStart && c === -2);
          if (!this.target.addColumn(name, line)) return REFUSED;
          c = this.register(name);
          row.ensure(this.names.length);
          row.tags[c] = CELL_NULL;
        }
        if (this.seen[c] === stamp) {
          throw new InvalidArgumentError(`line ${line}: duplicate key "${this.names[c]}"`);
        }
        this.seen[c] = stamp;
        expected = c + 1;
        i = keyEnd + 1;
        while (i < end && isSpace(buf[i])) i++;
        if (buf[i] !== 58) throw this.invalid(buf, i, end, open);
        i++;
        while (i < end && isSpace(buf[i])) i++;
        i = this.parseValue(buf, i, end, c, open);
        while (i < end && isSpace(buf[i])) i++;
        if (buf[i] === 44 && i < end) {
          i++;
          while (i < end && isSpace(buf[i])) i++;
          continue;
        }
        if (buf[i] === 125 && i < end) {
          i++;
          break;
        }
        throw this.invalid(buf, i, end, open);
      }
    }
    while (i < end && isSpace(buf[i])) i++;
    if (i < end) throw this.invalid(buf, i, end, open);
    row.count = this.names.length;
    return this.target.row(row) ? undefined : REFUSED;
  }

  /**
   * The column of the key `buf[start, end)`: tries the column after the previous key
   * first (keys usually come in the same order), without decoding. -1 for an unknown
   * key; -2 for an unknown key with escapes.
   */
  private columnOf(buf: Buffer, start: number, end: number, expected: number): number {
    const guess = this.nameBytes[expected];
    if (
      guess !== undefined &&
      guess.length === end - start &&
      buf.compare(guess, 0, guess.length, start, end) === 0
    ) {
      return expected;
    }
    const escaped = buf.indexOf(BACKSLASH, start) >= 0 && buf.indexOf(BACKSLASH, start) < end;
    const name = this.decodeString(buf, start, end, escaped);
    return this.index.get(name) ?? (escaped ? -2 : -1);
  }

  private decodeString(buf: Buffer, start: number, end: number, escaped: boolean): string {
    try {
      if (escaped) return JSON.parse(buf.toString("utf8", start - 1, end + 1)) as string;
      return utf8.decode(buf.subarray(start, end));
    } catch {
      throw new InvalidArgumentError(`line ${this.line}: invalid JSON string`);
    }
  }

  /** Returns the index of the closing quote of the string starting at `i`. */
  private scanString(buf: Buffer, i: number, end: number, lineStart: number): number {
    for (;;) {
      if (i >= end) throw new InvalidArgumentError(`line ${this.line}: invalid JSON (unterminated string)`);
      const c = buf[i] as number;
      if (c === QUOTE) return i;
      if (c === BACKSLASH) {
        i += 2;
        continue;
      }
      if (c < 32) throw this.invalid(buf, i, end, lineStart);
      i++;
    }
  }

  /** Parses the value at `i` into cell `c`; returns the index after it. */
  private parseValue(buf: Buffer, i: number, end: number, c: number, lineStart: number): number {
    const row = this.row;
    const first = buf[i];
    if (first === QUOTE) {
      const close = this.scanString(buf, i + 1, end, lineStart);
      const escapeAt = buf.indexOf(BACKSLASH, i + 1);
      if (escapeAt >= 0 && escapeAt < close) {
        const text = Buffer.from(this.decodeString(buf, i + 1, close, true));
        const at = row.reserveScratch(text.length);
        row.scratch.set(text, at);
        row.scratchUsed = at + text.length;
        row.tags[c] = CELL_JSON_STRING | IN_SCRATCH;
        row.starts[c] = at;
        row.ends[c] = at + text.length;
      } else {
        row.tags[c] = CELL_JSON_STRING;
        row.starts[c] = i + 1;
        row.ends[c] = close;
      }
      return close + 1;
    }
    if (first === 116 || first === 102 || first === 110) {
      const word = first === 116 ? "true" : first === 102 ? "false" : "null";
      if (end - i < word.length || buf.toString("latin1", i, i + word.length) !== word) {
        throw this.invalid(buf, i, end, lineStart);
      }
      row.tags[c] = first === 116 ? CELL_JSON_TRUE : first === 102 ? CELL_JSON_FALSE : CELL_NULL;
      row.starts[c] = i;
      row.ends[c] = i + word.length;
      return i + word.length;
    }
    if (first === 123 || first === 91) {
      throw new InvalidArgumentError(
        `line ${this.line}, column "${this.names[c]}": nested objects and arrays are not supported`,
      );
    }
    const after = scanNumber(buf, i, end);
    if (after < 0) throw this.invalid(buf, i, end, lineStart);
    row.tags[c] = CELL_JSON_NUMBER;
    row.starts[c] = i;
    row.ends[c] = after;
    return after;
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

/** JSON number grammar; returns the index after the number, or -1. */
function scanNumber(buf: Buffer, i: number, end: number): number {
  if (buf[i] === 45) i++;
  if (i >= end) return -1;
  if (buf[i] === 48) i++;
  else if (isDigit(buf[i])) while (i < end && isDigit(buf[i])) i++;
  else return -1;
  if (i < end && buf[i] === 46) {
    i++;
    if (!(i < end && isDigit(buf[i]))) return -1;
    while (i < end && isDigit(buf[i])) i++;
  }
  if (i < end && (buf[i] === 101 || buf[i] === 69)) {
    i++;
    if (i < end && (buf[i] === 43 || buf[i] === 45)) i++;
    if (!(i < end && isDigit(buf[i]))) return -1;
    while (i < end && isDigit(buf[i])) i++;
  }
  return i;
}
