export { parseAdmissionReview, type ParseResult } from './parse.ts';
export { allowResponse, denyResponse, patchResponse } from './respond.ts';
export * from './types.ts';
