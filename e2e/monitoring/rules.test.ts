import { describe, expect, it } from 'vitest';
import { metricNames } from './promql.js';
import { bracketsBalance, ruleFileProblems } from './rules.js';

const alert = (over: Record<string, unknown> = {}) => ({
  alert: 'A',
  expr: 'm > 0',
  for: '5m',
  labels: { severity: 'warning' },
  annotations: { summary: 's', description: 'd' },
  ...over,
});
const file = (...rules: unknown[]) => ({ groups: [{ name: 'g', rules }] });

describe('ruleFileProblems', () => {
  it('accepts a well-formed file', () => {
    expect(ruleFileProblems(file(alert(), { record: 'ns:m:rate5m', expr: 'rate(m[5m])' }), metricNames)).toEqual([]);
  });

  it.each([
    ['no groups', {}, 'no groups'],
    ['an empty group', { groups: [{ name: 'g', rules: [] }] }, 'no rules'],
    [
      'a group name twice',
      {
        groups: [
          { name: 'g', rules: [alert()] },
          { name: 'g', rules: [alert({ alert: 'B' })] },
        ],
      },
      'used twice',
    ],
    ['an unknown group key', { groups: [{ name: 'g', rules: [alert()], evaluation: '1m' }] }, 'unknown key evaluation'],
    ['an alert twice', file(alert(), alert()), 'defined twice'],
    ['alert and record', file(alert({ record: 'r' })), 'exactly one of alert and record'],
    ['neither', file({ expr: 'm' }), 'exactly one of alert and record'],
    ['a bad alert name', file(alert({ alert: 'no spaces allowed' })), 'not a valid name'],
    ['no expr', file(alert({ expr: '' })), 'no expr'],
    ['unbalanced brackets', file(alert({ expr: 'sum(rate(m[5m])' })), 'unbalanced'],
    ['an expr selecting nothing', file(alert({ expr: 'vector(1)' })), 'selects no metric'],
    ['a bad duration', file(alert({ for: '5 minutes' })), 'not a duration'],
    ['no severity', file(alert({ labels: {} })), 'severity'],
    ['no description', file(alert({ annotations: { summary: 's' } })), 'no description'],
    ['an unknown rule key', file(alert({ severity: 'warning' })), 'unknown key severity'],
    ['a recording rule with annotations', file({ record: 'r', expr: 'm', annotations: { a: 'b' } }), 'recording rule'],
  ])('refuses %s', (_what, doc, problem) => {
    expect(ruleFileProblems(doc, metricNames).join('\n')).toContain(problem);
  });
});

describe('bracketsBalance', () => {
  it.each([
    ['sum(rate(m{a="b"}[5m]))', true],
    ['m{a=")"}', true],
    ['sum(m', false],
    ['m[5m)', false],
    ['m}', false],
  ])('%s → %s', (expr, want) => {
    expect(bracketsBalance(expr)).toBe(want);
  });
});
