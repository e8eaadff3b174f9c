import { InvalidArgumentError } from "../../errors/index.js";
import type { OnlineRead, OnlineRecord } from "../ports.js";
import { checkKey } from "./keys.js";

/**
 * Longest group accepted, in UTF-8 bytes. With the longest entity key it keeps the
 * LMDB key (`entityKey NUL group`) well under LMDB's 1978-byte limit.
 */
export const MAX_GROUP_BYTES = 256;

// In a /u regex a well-formed surrogate pair is one code point, so only lone halves match.
const LONE_SURROGATE = /\p{Cs}/u;
// ":" and "#" separate the group from the field in the Redis hash; NUL separates it from the entity in LMDB.
const GROUP_FORBIDDEN = /[:#\0]/;

/** A validated record, its fields deduplicated (the last mention of a field wins). */
export interface PreparedRecord {
  readonly entityKey: string;
  readonly group: string;
  readonly eventTime: number;
  /** Fields to set, each once. */
  readonly sets: ReadonlyArray<readonly [field: string, value: string]>;
  /** Fields to remove, each once, none of them also in `sets`. */
  readonly deletes: ReadonlyArray<string>;
}

/** Validates a record before anything is written; throws InvalidArgumentError naming the problem. */
export function prepareRecord(record: OnlineRecord): PreparedRecord {
  checkEntityKey(record.entityKey);
  checkGroup(record.group);
  if (!Number.isSafeInteger(record.eventTime)) {
    throw new InvalidArgumentError(
      `online record event time must be an integer of epoch milliseconds, got ${record.eventTime}`,
    );
  }
  const latest = new Map<string, string | null>();
  for (const [field, value] of record.values) {
    checkField(field);
    if (value !== null) checkText("online feature value", value);
    latest.set(field, value);
  }
  const sets: Array<readonly [string, string]> = [];
  const deletes: string[] = [];
  for (const [field, value] of latest) {
    if (value === null) deletes.push(field);
    else sets.push([field, value]);
  }
  return { entityKey: record.entityKey, group: record.group, eventTime: record.eventTime, sets, deletes };
}

/** Validates a read's entity key, group and field names. */
export function checkRead(read: OnlineRead): void {
  checkEntityKey(read.entityKey);
  checkReadFields(read.group, read.fields);
}

/** Validates a read's group and field names (callers may cache the outcome per field list). */
export function checkReadFields(group: string, fields: ReadonlyArray<string>): void {
  checkGroup(group);
  for (const field of fields) checkField(field);
}

/** Validates an entity key: the rules of any store key (see checkKey). */
export const checkEntityKey = checkKey;

function checkGroup(group: string): void {
  if (group.length === 0) throw new InvalidArgumentError("online store group must not be empty");
  if (GROUP_FORBIDDEN.test(group)) {
    throw new InvalidArgumentError(
      `online store group ${JSON.stringify(group)} must not contain ":", "#" or NUL`,
    );
  }
  checkText("online store group", group);
  if (Buffer.byteLength(group, "utf8") > MAX_GROUP_BYTES) {
    throw new InvalidArgumentError(`online store group is longer than ${MAX_GROUP_BYTES} bytes`);
  }
}

function checkField(field: string): void {
  if (field.length === 0) throw new InvalidArgumentError("online feature field name must not be empty");
  if (field.includes("\0")) {
    throw new InvalidArgumentError(`online feature field name ${JSON.stringify(field)} must not contain NUL`);
  }
  checkText("online feature field name", field);
}

// Both adapters store UTF-8, which would silently turn a lone surrogate into U+FFFD.
function checkText(what: string, text: string): void {
  if (LONE_SURROGATE.test(text)) throw new InvalidArgumentError(`${what} must be well-formed Unicode`);
}
