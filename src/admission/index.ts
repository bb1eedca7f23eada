export { parseAdmissionReview, type ParseResult } from './parse.ts';
export { allowResponse, denyResponse, patchResponse, serializeReview } from './respond.ts';
export * from './types.ts';
