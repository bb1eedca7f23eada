import t from 'tap';
import { admissionBudgetMs, webhookTimeoutMs } from '../../src/server/deadline.ts';

t.test('the apiserver timeout is read as a Go duration, clamped, and re-read when it changes', async (t) => {
  t.equal(webhookTimeoutMs('10s'), 10_000);
  t.equal(webhookTimeoutMs('10s'), 10_000, 'the same value again (served from the one-entry memo)');
  t.equal(webhookTimeoutMs('1m0s'), 30_000, 'clamped to the apiserver maximum');
  t.equal(webhookTimeoutMs('2500ms'), 2_500);
  t.equal(webhookTimeoutMs('2s500000us'), 2_500, 'microseconds');
  t.equal(webhookTimeoutMs('2s500000\u00b5s'), 2_500, 'microseconds with a micro sign, as Go writes them');
  t.equal(webhookTimeoutMs('2s500000\u03bcs'), 2_500, 'or with a Greek mu, which Go also reads');
  t.equal(webhookTimeoutMs('10s'), 10_000, 'a changed value is parsed again, not the memo');
  t.equal(webhookTimeoutMs('soon'), 10_000, 'unreadable: the default');
  t.equal(webhookTimeoutMs(undefined), 10_000);
  t.equal(webhookTimeoutMs('100ms'), 1_000, 'clamped to the minimum');
  t.equal(admissionBudgetMs(10_000), 8_000);
});
