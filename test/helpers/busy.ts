/** Keeps the event loop busy for `ms` (the webhook under test runs in this process): CPU saturation, made exact. */
export function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}
