/**
 * The admin console's answers as ordinary PostgreSQL result sets (RowDescription, DataRow,
 * CommandComplete), so psql and every driver print them as they would a query's. Text format only;
 * numbers go out as int8 (psql aligns them right), everything else as text. Pure.
 */
import { commandComplete, message } from '../../protocol/messages.js';

const enum Oid {
  Int8 = 20,
  Text = 25,
}

export interface Column {
  name: string;
  type: 'int' | 'text';
}

export type Value = string | number | null;

export interface ResultSet {
  columns: readonly Column[];
  rows: readonly (readonly Value[])[];
  /** The CommandComplete tag (PgBouncer answers SHOW with "SHOW"). */
  tag: string;
}

export const text = (name: string): Column => ({ name, type: 'text' });
export const int = (name: string): Column => ({ name, type: 'int' });

/** RowDescription (type 'T'): per column its name, no table, the type, text format. */
export function rowDescription(columns: readonly Column[]): Buffer {
  const parts: Buffer[] = [int16(columns.length)];
  for (const c of columns) {
    const oid = c.type === 'int' ? Oid.Int8 : Oid.Text;
    const fixed = Buffer.alloc(18);
    fixed.writeInt32BE(0, 0); // table OID
    fixed.writeInt16BE(0, 4); // column attribute number
    fixed.writeInt32BE(oid, 6);
    fixed.writeInt16BE(c.type === 'int' ? 8 : -1, 10); // type size
    fixed.writeInt32BE(-1, 12); // type modifier
    fixed.writeInt16BE(0, 16); // text format
    parts.push(Buffer.from(c.name + '\0', 'utf8'), fixed);
  }
  return message(0x54, Buffer.concat(parts));
}

/** DataRow (type 'D'): each value as text, null as length -1. */
export function dataRow(columns: readonly Column[], values: readonly Value[]): Buffer {
  if (values.length !== columns.length) throw new Error(`a row of ${values.length} values for ${columns.length} columns`);
  const parts: Buffer[] = [int16(values.length)];
  values.forEach((v, i) => {
    if (v === null) return void parts.push(int32(-1));
    const s = formatValue(columns[i]!, v);
    const b = Buffer.from(s, 'utf8');
    parts.push(int32(b.length), b);
  });
  return message(0x44, Buffer.concat(parts));
}

function formatValue(column: Column, v: string | number): string {
  if (column.type === 'text') return String(v);
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`column ${column.name}: ${JSON.stringify(v)} is not an integer`);
  return String(v);
}

/** A whole result: RowDescription, one DataRow per row, CommandComplete. */
export function encodeResultSet(r: ResultSet): Buffer {
  return Buffer.concat([rowDescription(r.columns), ...r.rows.map((row) => dataRow(r.columns, row)), commandComplete(r.tag)]);
}

/** A timestamp as PgBouncer prints one: `2024-05-01 12:00:00 UTC`. */
export function timestamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}

/** A duration as PgBouncer's pair of columns: whole seconds and the microseconds beyond them. */
export function secondsAndMicros(ms: number): [number, number] {
  const us = Math.max(0, Math.round(ms * 1000));
  return [Math.floor(us / 1_000_000), us % 1_000_000];
}

function int16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v, 0);
  return b;
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v, 0);
  return b;
}
