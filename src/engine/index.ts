// Public API of the injection engine. Pure: the server, the CLI and the benchmarks all call `decide`.
export * from './types.ts';
export { decide } from './decide.ts';
export { podFromRequest } from './request.ts';
export { isExcludedNamespace, ALWAYS_EXCLUDED_NAMESPACES } from './namespaces.ts';
export { resolveAppName, type AppName } from './app-name.ts';
export {
  ANNOTATION_PREFIX,
  ENABLED_ANNOTATION,
  APP_ANNOTATION,
  CONTAINERS_ANNOTATION,
  MOUNT_PATH_ANNOTATION,
  STATUS_ANNOTATION,
  KNOWN_ANNOTATIONS,
  DEFAULT_MOUNT_PATH,
} from './annotations.ts';
export { VOLUME_NAME, CSI_DRIVER } from './volume.ts';
export { INJECTED_ENV_NAMES, DATABASE_URL_TEMPLATE, SECRET_KEYS } from './env.ts';
export { secretIdFor, secretProviderClassNameFor, syncedSecretNameFor, isDns1123Label } from './names.ts';
export { escapePointer } from './patch.ts';
export { MAX_TARGETED_CONTAINERS } from './containers.ts';
export { parseStatus, type InjectionStatus } from './status.ts';
export { MAX_WARNING_LENGTH } from '../text.ts';
