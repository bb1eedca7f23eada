// Exit codes and the error types that map to them. A user mistake gets a one-line message and no stack trace.

export const EXIT_OK = 0;
/** Bad flags, unreadable files, bad YAML, a document the CLI cannot place: fix the command or the input. */
export const EXIT_USAGE = 1;
/** The webhook would deny at least one pod: fix the manifest (the message says how). */
export const EXIT_DENIED = 2;
/** A bug in db-access-webhook itself: the stack trace is printed so it can be reported. */
export const EXIT_INTERNAL = 3;
/** The output could not be written (a full disk, a closed terminal); not the input's fault, so not EXIT_USAGE. */
export const EXIT_OUTPUT = 4;

/** A problem with the command line or the input files. */
export class UsageError extends Error {
  override name = 'UsageError';
}
