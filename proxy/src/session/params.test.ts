import { describe, expect, it } from 'vitest';
import { StartupOptionsError, sqlLiteral, sqlName, startupSettings, syncSettingsSql } from './params.js';

describe('startupSettings', () => {
  it('keeps settings, drops user/database, quotes values', () => {
    const s = startupSettings(
      new Map([
        ['user', 'u'],
        ['database', 'd'],
        ['application_name', "o'brien"],
        ['TimeZone', 'UTC'],
      ]),
    );
    expect([...s]).toEqual([
      ['application_name', "'o''brien'"],
      ['timezone', "'UTC'"],
    ]);
  });
  it.each([
    ['-c search_path=a,b', [['search_path', "'a,b'"]]],
    [
      '-csearch_path=x --statement-timeout=5s',
      [
        ['search_path', "'x'"],
        ['statement_timeout', "'5s'"],
      ],
    ],
    ['-c application_name=with\\ space', [['application_name', "'with space'"]]],
  ])('parses options %s', (options, expected) => {
    expect([
      ...startupSettings(
        new Map([
          ['user', 'u'],
          ['options', options],
        ]),
      ),
    ]).toEqual(expected);
  });
  it.each(['-x', '-c novalue', '--=x'])('refuses options %s', (options) => {
    expect(() => startupSettings(new Map([['options', options]]))).toThrow(StartupOptionsError);
  });
});

describe('syncSettingsSql', () => {
  it('is empty when the backend already matches', () => {
    const m = new Map([['application_name', "'a'"]]);
    expect(syncSettingsSql(m, new Map(m))).toBe('');
  });
  it('sets what differs and resets what the client lacks', () => {
    const wanted = new Map([
      ['application_name', "'a'"],
      ['timezone', "'UTC'"],
    ]);
    const backend = new Map([
      ['application_name', "'b'"],
      ['search_path', "'x'"],
    ]);
    expect(syncSettingsSql(wanted, backend)).toBe("SET application_name = 'a';SET timezone = 'UTC';RESET search_path;");
  });
  it('quotes odd names and literals', () => {
    expect(sqlName('my.custom')).toBe('my.custom');
    expect(sqlName('Weird"Name')).toBe('"Weird""Name"');
    expect(sqlLiteral("it's")).toBe("'it''s'");
  });
});
