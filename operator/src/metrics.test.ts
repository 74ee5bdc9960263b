import { describe, expect, it } from 'vitest';
import { OperatorMetrics } from './metrics.js';

describe('OperatorMetrics', () => {
  it("exports the contract names and forgets a deleted DBProxy's targets", async () => {
    const m = new OperatorMetrics();
    m.setTargetUp('shop/orders', '10.0.0.1:5432', true);
    m.setTargetUp('shop/orders', '10.0.0.2:5432', false);
    m.setTargetUp('shop/other', '10.0.0.3:5432', true);
    m.reconcileTotal.inc({ result: 'success' });
    let text = await m.registry.metrics();
    for (const name of [
      'dbproxy_operator_reconcile_total{result="success"} 1',
      'dbproxy_operator_reconcile_duration_seconds',
      'dbproxy_operator_is_leader 0',
      'dbproxy_operator_target_up{dbproxy="shop/orders",endpoint="10.0.0.2:5432"} 0',
    ]) {
      expect(text).toContain(name);
    }
    m.forgetDBProxy('shop/orders');
    text = await m.registry.metrics();
    expect(text).not.toContain('shop/orders');
    expect(text).toContain('dbproxy_operator_target_up{dbproxy="shop/other",endpoint="10.0.0.3:5432"} 1');
  });
});
