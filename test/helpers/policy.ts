// The engine policy most tests and the engine benchmark use: one place, so a new EnginePolicy field is added once.
import type { EnginePolicy } from '../../src/engine/types.ts';

export const TEST_POLICY: EnginePolicy = {
  environment: 'prod',
  region: 'eu-west-1',
  webhookNamespace: 'db-access-webhook',
  excludedNamespaces: [],
  usePodIdentity: false,
  urlFromSecret: false,
};
