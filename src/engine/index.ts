// Public API of the injection engine. Pure: the server, the CLI and the benchmarks all call `decide`.
export * from './types.ts';
export { decide } from './decide.ts';
export { podFromRequest } from './request.ts';
export { INJECTED_ENV_NAMES } from './env.ts';
export { MAX_TARGETED_CONTAINERS } from './containers.ts';
export { ANNOTATION_PREFIX, ENABLED_ANNOTATION } from './annotations.ts';
