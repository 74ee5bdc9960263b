/** The files a Secret volume yields and the AtomicWriter's swap plan, as the kubelet has them. */
import { describe, expect, it } from 'vitest';
import { filesChanged, generationDirName, planSwap, secretVolumeFiles, type VolumeFile } from './secret-volume.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = { data: { 'tls.crt': b64('CERT'), 'tls.key': b64('KEY'), 'ca.crt': b64('CA') } };
const text = (files: VolumeFile[]) => files.map((f) => [f.path, f.bytes.toString(), f.mode.toString(8)]);

describe('secretVolumeFiles', () => {
  it('every key as a file, sorted, mode 0644 by default', () => {
    expect(text(secretVolumeFiles('ns', { secretName: 'tls' }, secret))).toEqual([
      ['ca.crt', 'CA', '644'],
      ['tls.crt', 'CERT', '644'],
      ['tls.key', 'KEY', '644'],
    ]);
  });

  it('items: only the keys named, at their paths (subdirectories too), with their modes', () => {
    const files = secretVolumeFiles(
      'ns',
      {
        secretName: 'tls',
        defaultMode: 0o400,
        items: [
          { key: 'ca.crt', path: 'ca/root.pem' },
          { key: 'tls.key', path: 'k', mode: 0o600 },
        ],
      },
      secret,
    );
    expect(text(files)).toEqual([
      ['ca/root.pem', 'CA', '400'],
      ['k', 'KEY', '600'],
    ]);
  });

  it('a missing Secret or item key is an error unless optional', () => {
    expect(() => secretVolumeFiles('ns', { secretName: 'gone' }, undefined)).toThrow('secret "ns/gone" not found');
    expect(secretVolumeFiles('ns', { secretName: 'gone', optional: true }, undefined)).toEqual([]);
    expect(() => secretVolumeFiles('ns', { secretName: 'tls', items: [{ key: 'nope', path: 'x' }] }, secret)).toThrow(
      "couldn't find key nope in Secret ns/tls",
    );
    expect(secretVolumeFiles('ns', { secretName: 'tls', optional: true, items: [{ key: 'nope', path: 'x' }] }, secret)).toEqual([]);
  });

  it('refuses paths that would escape the volume or collide with the writer’s own names', () => {
    for (const p of ['/etc/passwd', '../x', 'a/../../x', '..data', 'a//b', ''])
      expect(() => secretVolumeFiles('ns', { secretName: 'tls', items: [{ key: 'ca.crt', path: p }] }, secret)).toThrow();
  });
});

describe('filesChanged', () => {
  const files = secretVolumeFiles('ns', { secretName: 'tls' }, secret);
  it('nothing written yet, other bytes, other modes or names: changed; same content: not', () => {
    expect(filesChanged(undefined, files)).toBe(true);
    expect(filesChanged(files, secretVolumeFiles('ns', { secretName: 'tls' }, secret))).toBe(false);
    expect(filesChanged(files, secretVolumeFiles('ns', { secretName: 'tls' }, { data: { ...secret.data, 'tls.crt': b64('CERT2') } }))).toBe(true);
    expect(filesChanged(files, secretVolumeFiles('ns', { secretName: 'tls', defaultMode: 0o400 }, secret))).toBe(true);
    expect(filesChanged(files, files.slice(1))).toBe(true);
  });
});

describe('generationDirName', () => {
  it('the kubelet’s ..2006_01_02_15_04_05.<unique> in UTC', () => {
    expect(generationDirName(new Date('2026-12-03T09:05:07.123Z'), '42')).toBe('..2026_12_03_09_05_07.42');
  });
});

describe('planSwap', () => {
  const files = secretVolumeFiles(
    'ns',
    {
      secretName: 'tls',
      items: [
        { key: 'ca.crt', path: 'ca/root.pem' },
        { key: 'tls.crt', path: 'tls.crt' },
      ],
    },
    secret,
  );
  const summary = (steps: ReturnType<typeof planSwap>) =>
    steps.map((s) =>
      s.op === 'write'
        ? `write ${s.path}`
        : s.op === 'symlink'
          ? `link ${s.path} -> ${s.target}`
          : s.op === 'rename'
            ? `rename ${s.from} ${s.to}`
            : `${s.op} ${s.path}`,
    );

  it('first write: the dir, its files, ..data switched in, then the visible links', () => {
    expect(summary(planSwap(files, { names: [] }, '..g1'))).toEqual([
      'mkdir ..g1',
      'mkdir ..g1/ca',
      'write ..g1/ca/root.pem',
      'write ..g1/tls.crt',
      'link ..data_tmp -> ..g1',
      'rename ..data_tmp ..data',
      'link ca -> ..data/ca',
      'link tls.crt -> ..data/tls.crt',
    ]);
  });

  it('an update: the switch comes before dropping names the payload lost and the old dir last', () => {
    const next = files.filter((f) => f.path === 'tls.crt');
    expect(summary(planSwap(next, { dataDir: '..g1', names: ['ca', 'tls.crt'] }, '..g2'))).toEqual([
      'mkdir ..g2',
      'write ..g2/tls.crt',
      'link ..data_tmp -> ..g2',
      'rename ..data_tmp ..data',
      'remove ca',
      'remove ..g1',
    ]);
  });
});
