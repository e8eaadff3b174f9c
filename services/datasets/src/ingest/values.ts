/**
 * Byte-level value parsers shared by every input format. They read a field straight from
 * the input buffer (no string per field), which is most of the ingest speed.
 */

/** parseInt64 results. */
export const INT_INVALID = 0;
export const INT_OK = 1;
export const INT_OVERFLOW = 2;

/**
 * The last int64 or timestamp parsed, as little-endian 32-bit words, so the value goes
 * into a BigInt64Array's buffer without allocating a BigInt.
 */
export const parsed = { lo: 0, hi: 0 };

const TWO_32 = 4294967296;
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

/** Stores a safe integer (|n| < 2^53) in {@link parsed}. */
export function setWords(n: number): void {
  const hi = Math.floor(n / TWO_32);
  parsed.lo = (n - hi * TWO_32) >>> 0;
  parsed.hi = hi >>> 0;
}

/** Stores a BigInt in int64 range in {@link parsed}. */
export function setWordsBig(n: bigint): void {
  const u = BigInt.asUintN(64, n);
  parsed.lo = Number(u & 0xffffffffn);
  parsed.hi = Number(u >> 32n);
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
}

/** Parses `-?[0-9]+` into {@link parsed}; INT_OVERFLOW outside the int64 range. */
export function parseInt64(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  if (i < end && buf[i] === 45) i++;
  const digits = end - i;
  if (digits === 0) return INT_INVALID;
  if (digits <= 15) {
    let n = 0;
    for (; i < end; i++) {
      const d = (buf[i] as number) - 48;
      if (d >>> 0 > 9) return INT_INVALID;
      n = n * 10 + d;
    }
    setWords(buf[start] === 45 ? -n : n);
    return INT_OK;
  }
  for (; i < end; i++) {
    if (((buf[i] as number) - 48) >>> 0 > 9) return INT_INVALID;
  }
  const big = BigInt(latin1(buf, start, end));
  if (big < MIN_INT64 || big > MAX_INT64) return INT_OVERFLOW;
  setWordsBig(big);
  return INT_OK;
}

// Exact powers of ten: a mantissa below 2^53 times or divided by one of these is
// correctly rounded (Clinger's fast path), so we only fall back to Number() for long input.
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Parses a decimal number (`-?digits[.digits][e[+-]digits]`, ".5" and "5." allowed) into
 * a finite double; NaN when the text is not such a number or overflows. "NaN" and
 * "Infinity" are deliberately not numbers.
 */
export function parseFloat64(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  const neg = i < end && buf[i] === 45;
  if (neg) i++;
  let mantissa = 0;
  let mantDigits = 0;
  let anyDigit = false;
  let scale = 0;
  for (; i < end; i++) {
    const c = buf[i] as number;
    if ((c - 48) >>> 0 > 9) break;
    anyDigit = true;
    if (mantDigits > 0 || c !== 48) {
      mantissa = mantissa * 10 + (c - 48);
      mantDigits++;
    }
  }
  if (i < end && buf[i] === 46) {
    i++;
    for (; i < end; i++) {
      const c = buf[i] as number;
      if ((c - 48) >>> 0 > 9) break;
      anyDigit = true;
      if (mantDigits > 0 || c !== 48) {
        mantissa = mantissa * 10 + (c - 48);
        mantDigits++;
      }
      scale--;
    }
  }
  if (!anyDigit) return Number.NaN;
  let exp = 0;
  if (i < end && (buf[i] === 101 || buf[i] === 69)) {
    i++;
    let expNeg = false;
    if (i < end && (buf[i] === 43 || buf[i] === 45)) {
      expNeg = buf[i] === 45;
      i++;
    }
    if (i === end) return Number.NaN;
    for (; i < end; i++) {
      const c = buf[i] as number;
      if ((c - 48) >>> 0 > 9) break;
      if (exp < 100000) exp = exp * 10 + (c - 48);
    }
    if (expNeg) exp = -exp;
  }
  if (i !== end) return Number.NaN;
  const k = scale + exp;
  let value: number;
  if (mantDigits <= 15 && k >= -22 && k <= 22) {
    value = k < 0 ? mantissa / (POW10[-k] as number) : mantissa * (POW10[k] as number);
    if (neg) value = -value;
  } else {
    value = Number(latin1(buf, start, end));
  }
  return Number.isFinite(value) ? value : Number.NaN;
}

/** 1 for "true", 0 for "false" (ASCII case-insensitive), -1 otherwise. */
export function parseBool(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len === 4) {
    return ((buf[start] as number) | 0x20) === 116 &&
      ((buf[start + 1] as number) | 0x20) === 114 &&
      ((buf[start + 2] as number) | 0x20) === 117 &&
      ((buf[start + 3] as number) | 0x20) === 101
      ? 1
      : -1;
  }
  if (len === 5) {
    return ((buf[start] as number) | 0x20) === 102 &&
      ((buf[start + 1] as number) | 0x20) === 97 &&
      ((buf[start + 2] as number) | 0x20) === 108 &&
      ((buf[start + 3] as number) | 0x20) === 115 &&
      ((buf[start + 4] as number) | 0x20) === 101
      ? 0
      : -1;
  }
  return -1;
}

/** Reads `count` decimal digits at `at`; -1 when any is not a digit. */
function digitsAt(buf: Uint8Array, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = (buf[i] as number) - 48;
    if (d >>> 0 > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, m: number, d: number): number {
  const y = m <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Parses an ISO 8601 instant into milliseconds since the epoch: `YYYY-MM-DD` (UTC
 * midnight) or `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]]` followed by `Z` or an offset
 * (`+HH:MM`, `+HHMM`, `+HH`). A date-time without a zone is refused, since it names no
 * instant. Fractions beyond milliseconds are truncated. NaN when the text is not such a value.
 */
export function parseTimestamp(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len < 10 || buf[start + 4] !== 45 || buf[start + 7] !== 45) return Number.NaN;
  const year = digitsAt(buf, start, 4);
  const month = digitsAt(buf, start + 5, 2);
  const day = digitsAt(buf, start + 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  const days = daysFromCivil(year, month, day);
  if (len === 10) return days * 86400000;
  let i = start + 10;
  const sep = buf[i];
  if ((sep !== 84 && sep !== 116 && sep !== 32) || len < 16 || buf[i + 3] !== 58) return Number.NaN;
  const hour = digitsAt(buf, i + 1, 2);
  const minute = digitsAt(buf, i + 4, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return Number.NaN;
  i += 6;
  let second = 0;
  let millis = 0;
  if (i < end && buf[i] === 58) {
    if (i + 3 > end) return Number.NaN;
    second = digitsAt(buf, i + 1, 2);
    if (second < 0 || second > 59) return Number.NaN;
    i += 3;
    if (i < end && (buf[i] === 46 || buf[i] === 44)) {
      i++;
      const fracStart = i;
      while (i < end && ((buf[i] as number) - 48) >>> 0 <= 9) {
        // Digits past the third are truncated: the output has millisecond precision.
        const pos = i - fracStart;
        if (pos < 3) millis += ((buf[i] as number) - 48) * (pos === 0 ? 100 : pos === 1 ? 10 : 1);
        i++;
      }
      if (i === fracStart) return Number.NaN;
    }
  }
  if (i >= end) return Number.NaN;
  let offsetMinutes = 0;
  const z = buf[i];
  if (z === 90 || z === 122) {
    if (i + 1 !== end) return Number.NaN;
  } else if (z === 43 || z === 45) {
    const rest = end - i - 1;
    const oh = digitsAt(buf, i + 1, 2);
    let om = 0;
    if (rest === 5 && buf[i + 3] === 58) om = digitsAt(buf, i + 4, 2);
    else if (rest === 4) om = digitsAt(buf, i + 3, 2);
    else if (rest !== 2) return Number.NaN;
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return Number.NaN;
    offsetMinutes = (oh * 60 + om) * (z === 45 ? -1 : 1);
  } else {
    return Number.NaN;
  }
  return days * 86400000 + hour * 3600000 + (minute - offsetMinutes) * 60000 + second * 1000 + millis;
}
