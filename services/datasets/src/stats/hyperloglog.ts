import { hashUtf8 } from "./utf8-hash.js";

const encoder = new TextEncoder();
const TWO_32 = 2 ** 32;

/**
 * HyperLogLog distinct-count sketch (Flajolet et al. 2007) over the 32-bit {@link hashUtf8}
 * of each value's UTF-8 bytes: the hash the string sketches compute once per value anyway.
 * 2^precision one-byte registers; the standard error is 1.04 / sqrt(2^precision), 0.81% at
 * the default precision 14 (16 KiB). Small cardinalities use linear counting, and estimates
 * past 2^32 / 30 the paper's large-range correction for a 32-bit hash.
 */
export class HyperLogLog {
  private readonly registers: Uint8Array;
  private readonly precision: number;

  constructor(precision = 14) {
    if (!Number.isInteger(precision) || precision < 4 || precision > 18) {
      throw new RangeError(`precision must be an integer in [4, 18], got ${precision}`);
    }
    this.precision = precision;
    this.registers = new Uint8Array(1 << precision);
  }

  /** Adds the value whose UTF-8 bytes are bytes[start, end). */
  addUtf8(bytes: Uint8Array, start: number, end: number): void {
    this.addHash(hashUtf8(bytes, start, end));
  }

  /** Adds a JS string (hashed as UTF-8, like {@link addUtf8}). */
  addString(value: string): void {
    const bytes = encoder.encode(value);
    this.addUtf8(bytes, 0, bytes.length);
  }

  /** Adds a value by its {@link hashUtf8} (for callers that already computed it). */
  addHash(hash: number): void {
    const p = this.precision;
    const index = hash >>> (32 - p);
    // Rank = 1 + leading zeros of the remaining 32 - p bits.
    const rest = (hash << p) >>> 0;
    const rank = rest === 0 ? 32 - p + 1 : Math.clz32(rest) + 1;
    if (rank > this.registers[index]) this.registers[index] = rank;
  }

  /** The estimated number of distinct values added. */
  estimate(): number {
    const m = this.registers.length;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < m; i++) {
      const r = this.registers[i];
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / m);
    const raw = (alpha * m * m) / sum;
    if (raw <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros);
    if (raw > TWO_32 / 30) return -TWO_32 * Math.log(1 - raw / TWO_32);
    return raw;
  }
}
