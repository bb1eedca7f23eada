// The engine alone, in process, no HTTP: µs per decision for pods of different shapes. It shows that the cost
// follows what we inject (targeted containers) rather than the size of the pod.
import { patchText } from '../src/admission/respond.ts';
import { decide } from '../src/engine/index.ts';
import type { AdmissionRequestInput, EnginePolicy } from '../src/engine/index.ts';
import { fixtures } from './fixtures/reviews.ts';
import { Samples, round } from './lib/stats.ts';
import { TEST_POLICY } from '../test/helpers/policy.ts';

export const BENCH_POLICY: EnginePolicy = TEST_POLICY;

export interface EngineCase {
  readonly name: string;
  readonly description: string;
  readonly make: () => Record<string, unknown>;
}

export const ENGINE_CASES: readonly EngineCase[] = [
  { name: 'small', description: 'small pod: 1 container, 3 env', make: fixtures.small },
  { name: 'typical', description: 'typical Deployment pod: 2 containers, 18 env', make: fixtures.typical },
  { name: 'tall', description: '1 container x 1,500 env', make: fixtures.tall },
  { name: 'wide', description: '10 containers x 150 env (1,500 env)', make: fixtures.wide },
  { name: 'wide-one-targeted', description: '10 containers x 150 env, 1 targeted', make: fixtures.wideOneTargeted },
  { name: 'pass-through', description: 'typical pod without the annotation', make: fixtures.passThrough },
];

export interface EngineResult {
  readonly name: string;
  readonly description: string;
  readonly requestBytes: number;
  readonly containers: number;
  readonly envVars: number;
  readonly targetedContainers: number;
  readonly action: string;
  readonly patchOps: number;
  readonly patchBytes: number;
  readonly iterations: number;
  /** decide() only. */
  readonly usPerDecision: { readonly mean: number; readonly p50: number; readonly p99: number };
  /** decide() plus the patch's JSON text (patchText) and base64, i.e. everything the server does after parsing. */
  readonly usPerDecisionAndEncode: number;
}

function countPod(request: Record<string, unknown>): { containers: number; envVars: number } {
  const spec = (request.object as { spec?: { containers?: Array<{ env?: unknown[] }>; initContainers?: Array<{ env?: unknown[] }> } }).spec;
  const all = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
  return { containers: all.length, envVars: all.reduce((n, c) => n + (c.env?.length ?? 0), 0) };
}

export function runEngineCase(engineCase: EngineCase, budgetMs: number): EngineResult {
  const review = engineCase.make();
  const requestBytes = Buffer.byteLength(JSON.stringify(review));
  const request = review.request as AdmissionRequestInput & Record<string, unknown>;
  const first = decide(request, BENCH_POLICY);
  const patch = first.action === 'inject' ? first.patch : [];
  const patchBytes = Buffer.byteLength(JSON.stringify(patch));
  const { containers, envVars } = countPod(request);

  // Warm-up so the JIT has settled; the engine does not mutate its input, so the same object is reused.
  const warmupEnd = performance.now() + budgetMs / 4;
  while (performance.now() < warmupEnd) decide(request, BENCH_POLICY);

  // Batches of decisions, timed per batch: a single decision can be below the timer's useful resolution.
  const batches = new Samples();
  const probe = performance.now();
  decide(request, BENCH_POLICY);
  const single = Math.max(0.001, performance.now() - probe);
  const batchSize = Math.max(1, Math.min(1000, Math.round(0.5 / single)));
  let iterations = 0;
  const end = performance.now() + budgetMs / 2;
  while (performance.now() < end || batches.length < 5) {
    const start = performance.now();
    for (let i = 0; i < batchSize; i++) decide(request, BENCH_POLICY);
    batches.push(((performance.now() - start) * 1000) / batchSize);
    iterations += batchSize;
  }
  const perBatch = batches.summary();

  let encoded = 0;
  const encodeEnd = performance.now() + budgetMs / 4;
  let encodeIterations = 0;
  const encodeStart = performance.now();
  while (performance.now() < encodeEnd || encodeIterations < batchSize) {
    const decision = decide(request, BENCH_POLICY);
    // As patchResponse encodes it (respond.ts): the shared values' kept text, then base64.
    if (decision.action === 'inject') encoded += Buffer.from(patchText(decision.patch)).toString('base64').length;
    encodeIterations++;
  }
  const encodeUs = ((performance.now() - encodeStart) * 1000) / encodeIterations;
  if (encoded < 0) throw new Error('unreachable: keeps the encoding from being optimized away');

  return {
    name: engineCase.name,
    description: engineCase.description,
    requestBytes,
    containers,
    envVars,
    targetedContainers: first.action === 'inject' ? first.target.containers.length : 0,
    action: first.action,
    patchOps: patch.length,
    patchBytes,
    iterations,
    usPerDecision: { mean: round(perBatch.mean, 2), p50: round(perBatch.p50, 2), p99: round(perBatch.p99, 2) },
    usPerDecisionAndEncode: round(encodeUs, 2),
  };
}

export function runEngineBenchmarks(options: { budgetMs: number }): EngineResult[] {
  return ENGINE_CASES.map((c) => runEngineCase(c, options.budgetMs));
}
