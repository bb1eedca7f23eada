// Watches the certificate and key files and installs a new pair without a restart.
//
// cert-manager and the kubelet update a mounted Secret by writing a new timestamped directory and swapping the
// `..data` symlink, so the files we were given never change in place: we watch their DIRECTORIES (the swap is a
// rename there) and also poll, because inotify does not cross every volume type and can miss events.
// A new pair is checked first (parses, not expired, key matches); a bad one is refused and the last good pair
// keeps serving. Nothing here logs key material.
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { CertificateError, contentHash, parseKeyPair, readKeyPairFiles, type KeyPair } from './key-pair.ts';

export type ReloadEvent =
  | { readonly type: 'reloaded'; readonly pair: KeyPair }
  | { readonly type: 'rejected'; readonly reason: string };

export interface ReloaderLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface ReloaderOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** The pair currently served (loaded at start-up). */
  readonly initial: KeyPair;
  /** Installs a checked pair, e.g. `server.setSecureContext(...)`. If it throws, the old pair stays. */
  readonly apply: (pair: KeyPair) => void;
  readonly logger: ReloaderLogger;
  /** Metrics hook. */
  readonly onEvent?: (event: ReloadEvent) => void;
  /** Fallback poll period. */
  readonly pollIntervalMs?: number;
  /** Watch the directories (default true); polling runs either way. */
  readonly watch?: boolean;
  /** Waits for a burst of file events to settle (cert and key are often written one after the other). */
  readonly debounceMs?: number;
  /**
   * A pair that fails its checks is read once more after this long before it is reported: the two files are read
   * one after the other, and a `..data` swap between the reads gives a certificate and a key of different pairs.
   */
  readonly settleMs?: number;
  /** Test hook for time (the not-valid-yet check). */
  readonly now?: () => number;
}

export class CertificateReloader {
  #options: ReloaderOptions;
  #current: KeyPair;
  /** Content hash of the last refused pair: the same bad files are reported once, not on every poll. */
  #lastRejectedHash: string | undefined;
  #watchers: FSWatcher[] = [];
  #poll: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  /** Content hash of a good pair that is not valid yet: reported once, installed once its time has come. */
  #waitingHash: string | undefined;
  #waitTimer: NodeJS.Timeout | undefined;

  constructor(options: ReloaderOptions) {
    this.#options = options;
    this.#current = options.initial;
  }

  /** The pair being served now. */
  get current(): KeyPair {
    return this.#current;
  }

  start(): void {
    const { certFile, keyFile, logger } = this.#options;
    const dirs = this.#options.watch === false ? [] : new Set([dirname(certFile), dirname(keyFile)]);
    for (const dir of dirs) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.#schedule());
        watcher.on('error', (err) => {
          logger.debug({ dir, code: (err as NodeJS.ErrnoException).code }, 'certificate directory watch failed; polling continues');
        });
        this.#watchers.push(watcher);
      } catch (err) {
        logger.debug({ dir, code: (err as NodeJS.ErrnoException).code }, 'cannot watch certificate directory; polling only');
      }
    }
    const period = this.#options.pollIntervalMs ?? 10_000;
    this.#poll = setInterval(() => void this.check(), period);
    this.#poll.unref();
  }

  stop(): void {
    this.#stopped = true;
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
    if (this.#poll) clearInterval(this.#poll);
    if (this.#debounce) clearTimeout(this.#debounce);
    if (this.#waitTimer) clearTimeout(this.#waitTimer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.check(), this.#options.debounceMs ?? 250);
    this.#debounce.unref();
  }

  /** Reads the files now and installs them if they changed and are good. Never throws. */
  check(): Promise<void> {
    if (this.#checking) {
      // A check is running: run one more afterwards so a change during the read is not missed.
      this.#again = true;
      return this.#checking;
    }
    this.#checking = this.#checkOnce().finally(() => {
      this.#checking = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        void this.check();
      }
    });
    return this.#checking;
  }

  async #checkOnce(): Promise<void> {
    let read = await this.#read();
    if (read?.problem !== undefined && read.hash !== this.#lastRejectedHash) {
      // Maybe read across a swap: look again once the files have settled, before saying anything.
      await new Promise((resolve) => setTimeout(resolve, this.#options.settleMs ?? 200));
      read = await this.#read();
    }
    if (read === undefined) return;
    if (read.problem !== undefined) {
      this.#reject(read.problem, read.hash);
      return;
    }
    this.#install(read.pair);
  }

  /** The files' pair if it is new: undefined when unchanged or already reported, else the pair or what is wrong. */
  async #read(): Promise<{ hash: string; pair: KeyPair; problem?: undefined } | { hash: string; problem: string } | undefined> {
    if (this.#stopped) return undefined;
    const { certFile, keyFile } = this.#options;
    let cert: string;
    let key: string;
    try {
      ({ cert, key } = await readKeyPairFiles(certFile, keyFile));
    } catch (err) {
      // Mid-swap the files can be briefly absent; this is reported like a bad pair.
      return { hash: 'unreadable', problem: err instanceof CertificateError ? err.message : 'the files cannot be read' };
    }
    const hash = contentHash(cert, key);
    if (hash === this.#current.contentHash) {
      this.#lastRejectedHash = undefined; // back to the served pair: a later fault is news again
      return undefined; // touched, not changed
    }
    if (hash === this.#lastRejectedHash) return undefined; // already reported
    try {
      return { hash, pair: parseKeyPair(cert, key) };
    } catch (err) {
      return { hash, problem: err instanceof CertificateError ? err.message : 'the pair cannot be parsed' };
    }
  }

  #install(pair: KeyPair): void {
    const { logger, onEvent } = this.#options;
    const hash = pair.contentHash;
    const waitMs = pair.notBefore.getTime() - (this.#options.now ?? Date.now)();
    if (waitMs > 0) {
      // Clients would refuse it until then (CERT_NOT_YET_VALID): keep serving the current pair, and switch on time.
      if (this.#waitingHash !== hash) {
        this.#waitingHash = hash;
        logger.warn(
          { fingerprint: pair.fingerprint, notBefore: pair.notBefore.toISOString() },
          'new serving certificate is not valid yet; still serving the current one until then',
        );
        if (this.#waitTimer) clearTimeout(this.#waitTimer);
        this.#waitTimer = setTimeout(() => void this.check(), Math.min(waitMs + 50, 2 ** 31 - 1));
        this.#waitTimer.unref();
      }
      return;
    }
    this.#waitingHash = undefined;
    try {
      this.#options.apply(pair);
    } catch {
      this.#reject('the TLS server refused the new pair', hash);
      return;
    }
    const previous = this.#current;
    this.#current = pair;
    this.#lastRejectedHash = undefined;
    logger.info(
      {
        fingerprint: pair.fingerprint,
        previousFingerprint: previous.fingerprint,
        subjectAltName: pair.subjectAltName,
        notAfter: pair.notAfter.toISOString(),
      },
      'serving certificate reloaded',
    );
    onEvent?.({ type: 'reloaded', pair });
  }

  #reject(reason: string, hash: string): void {
    if (hash === this.#lastRejectedHash) return;
    this.#lastRejectedHash = hash;
    this.#options.logger.error(
      { reason, servingFingerprint: this.#current.fingerprint, servingNotAfter: this.#current.notAfter.toISOString() },
      'new serving certificate refused; still serving the last good one',
    );
    this.#options.onEvent?.({ type: 'rejected', reason });
  }
}
