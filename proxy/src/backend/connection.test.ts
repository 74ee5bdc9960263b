import { describe, expect, it } from 'vitest';
import type { Conn } from '../io/conn.js';
import { message } from '../protocol/messages.js';
import { BackendConnection } from './connection.js';

const idle = () => new BackendConnection({} as Conn, { host: 'db', port: 5432 }, 0, 1, 2, new Map());

describe('BackendConnection while nobody holds it', () => {
  it.each([
    ['a NoticeResponse', 0x4e, false],
    ['a ParameterStatus', 0x53, false],
    ['a NotificationResponse', 0x41, false],
    ['a ReadyForQuery', 0x5a, true],
    ['a DataRow', 0x44, true],
    ['an ErrorResponse', 0x45, true],
  ])('%s from the server (type %i): stray = %s; a stray reply means the backend is never reused', (_, type, stray) => {
    const b = idle();
    expect(b.scanner.scan(message(type, Buffer.from('x\0')))).toBe(false);
    expect(b.stray).toBe(stray);
  });
});
