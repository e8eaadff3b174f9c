/**
 * The split hash: FNV-1a 64 over a byte sequence, then the MurmurHash3 fmix64 finalizer.
 *
 *   h = 0xcbf29ce484222325
 *   for each byte b: h = (h XOR b) * 0x100000001b3            (mod 2^64)
 *   h ^= h >>> 33; h *= 0xff51afd7ed558ccd; h ^= h >>> 33; h *= 0xc4ceb9fe1a85ec53; h ^= h >>> 33
 *
 * FNV-1a alone mixes its last bytes poorly into the high bits we derive the split from;
 * fmix64 gives full avalanche. This is part of the persisted contract: changing it would
 * move rows between splits of already-recorded versions.
 *
 * 64-bit values are kept as two unsigned 32-bit halves in plain numbers, multiplied in
 * 16-bit limbs, because BigInt math costs an allocation per operation: too slow for tens
 * of millions of rows.
 */

/** A 64-bit hash state as unsigned 32-bit halves; mutated in place to avoid allocations. */
export interface Hash64 {
  hi: number;
  lo: number;
}

const OFFSET_HI = 0xcbf29ce4;
const OFFSET_LO = 0x84222325;

/** A fresh FNV-1a 64 state (the offset basis). */
export function fnvInit(): Hash64 {
  return { hi: OFFSET_HI, lo: OFFSET_LO };
}

/** Copies `from` into `to` (e.g. a precomputed seed prefix into a scratch state). */
export function fnvCopy(from: Hash64, to: Hash64): Hash64 {
  to.hi = from.hi;
  to.lo = from.lo;
  return to;
}

/*
 * One FNV step multiplies by the prime 2^40 + 0x1b3:
 *   lo' = low 32 bits of lo * 0x1b3
 *   hi' = hi * 0x1b3 + lo * 2^8 + (high bits of lo * 0x1b3)   (mod 2^32)
 * lo * 0x1b3 is done in 16-bit halves so every operation stays in int32 arithmetic.
 */

/** Feeds one byte (0..255). */
export function fnvByte(h: Hash64, byte: number): void {
  const lo = h.lo ^ byte;
  const a = (lo & 0xffff) * 0x1b3;
  const b = (lo >>> 16) * 0x1b3 + (a >>> 16);
  h.lo = ((b << 16) | (a & 0xffff)) >>> 0;
  h.hi = (Math.imul(h.hi, 0x1b3) + (lo << 8) + (b >>> 16)) >>> 0;
}

/** Feeds bytes[start, end). */
export function fnvBytes(h: Hash64, bytes: Uint8Array, start: number, end: number): void {
  let hi = h.hi;
  let lo = h.lo;
  for (let i = start; i < end; i++) {
    lo ^= bytes[i];
    const a = (lo & 0xffff) * 0x1b3;
    const b = (lo >>> 16) * 0x1b3 + (a >>> 16);
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + (b >>> 16)) | 0;
    lo = (b << 16) | (a & 0xffff);
  }
  h.hi = hi >>> 0;
  h.lo = lo >>> 0;
}

/** Feeds a 64-bit value given as halves, as 8 bytes little-endian. */
export function fnvUint64(h: Hash64, hi64: number, lo64: number): void {
  let hi = h.hi;
  let lo = h.lo;
  let word = lo64;
  for (let k = 0; k < 8; k++) {
    if (k === 4) word = hi64;
    lo ^= word & 0xff;
    word >>>= 8;
    const a = (lo & 0xffff) * 0x1b3;
    const b = (lo >>> 16) * 0x1b3 + (a >>> 16);
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + (b >>> 16)) | 0;
    lo = (b << 16) | (a & 0xffff);
  }
  h.hi = hi >>> 0;
  h.lo = lo >>> 0;
}

/**
 * Low 64 bits of h * (bHi:bLo): the low word is Math.imul(aLo, bLo); the high word is the
 * high half of the unsigned aLo * bLo (from 16-bit limbs, each partial product < 2^32)
 * plus the low halves of the cross products.
 */
function mul64(h: Hash64, bHi: number, bLo: number): void {
  const aLo = h.lo;
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = bLo & 0xffff;
  const b1 = bLo >>> 16;
  const mid1 = a1 * b0;
  const mid2 = a0 * b1;
  const carry = (((a0 * b0) >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  const high = a1 * b1 + (mid1 >>> 16) + (mid2 >>> 16) + carry;
  h.hi = (high + Math.imul(h.hi, bLo) + Math.imul(aLo, bHi)) >>> 0;
  h.lo = Math.imul(aLo, bLo) >>> 0;
}

/** MurmurHash3 fmix64 finalizer, in place. */
export function fmix64(h: Hash64): void {
  h.lo = (h.lo ^ (h.hi >>> 1)) >>> 0;
  mul64(h, 0xff51afd7, 0xed558ccd);
  h.lo = (h.lo ^ (h.hi >>> 1)) >>> 0;
  mul64(h, 0xc4ceb9fe, 0x1a85ec53);
  h.lo = (h.lo ^ (h.hi >>> 1)) >>> 0;
}

/** The top 53 bits of the hash as a uniform number in [0, 1). */
export function hashToUnit(h: Hash64): number {
  return (h.hi * 2097152 + (h.lo >>> 11)) / 9007199254740992;
}

/** Convenience for tests and small inputs: finalized hash of `bytes` as an unsigned bigint. */
export function hash64OfBytes(bytes: Uint8Array): bigint {
  const h = fnvInit();
  fnvBytes(h, bytes, 0, bytes.length);
  fmix64(h);
  return (BigInt(h.hi) << 32n) | BigInt(h.lo);
}
