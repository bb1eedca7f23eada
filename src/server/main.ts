// What `npm start` runs: settings from the environment, then the server, then wait for SIGTERM.
// A bad setting prints one line naming it and exits 1 (no stack trace: the message says what to fix).
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { createLogger } from './logger.ts';
import { SHUTDOWN_SIGNALS, onShutdownSignals } from './signals.ts';

/**
 * After the drain, the longest admission the apiserver allows (30 s). A safety net: in a cluster the pod's
 * terminationGracePeriodSeconds ends us first (the chart checks it covers preStop, the drain and the timeout).
 */
const LONGEST_ADMISSION_MS = 30_000;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`db-access-webhook: invalid setting: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

  const logger = createLogger(config.logLevel);
  let server;
  try {
    // Imported after the settings are known good: a typo is reported without loading fastify and client-node.
    const { startServer } = await import('./server.ts');
    server = await startServer({ config, logger });
  } catch (err) {
    // Start-up errors (certificate files, Kubernetes configuration, port in use) are operator errors: the
    // message is the diagnosis. Its first line only: a library's message may go on to quote a file it parsed.
    const message = (err instanceof Error ? err.message : String(err)).split('\n', 1)[0];
    logger.fatal({ error: message }, `cannot start: ${message}`);
    process.stderr.write(`db-access-webhook: cannot start: ${message}\n`);
    process.exit(1);
  }

  // close-with-grace runs the shutdown (and catches uncaught errors); SIGTERM and SIGINT are ours (signals.ts says why).
  const shutdown = closeWithGrace(
    {
      delay: config.drainMs + LONGEST_ADMISSION_MS,
      logger: false,
      skip: [...SHUTDOWN_SIGNALS],
      onTimeout: (ms) => logger.error({ ms }, 'shutdown took too long; exiting'),
    },
    async ({ signal, err }) => {
      if (err) logger.error({ err }, 'unexpected error; shutting down');
      // The signals close-with-grace still handles (SIGHUP, SIGQUIT…); SIGTERM and SIGINT are logged by onShutdownSignals.
      else if (signal) logger.info({ signal }, 'shutdown requested');
      await server.close();
    },
  );
  onShutdownSignals({
    start: (signal) => {
      logger.info({ signal }, 'shutdown requested');
      void shutdown.close();
    },
    force: (signal) => {
      logger.error({ signal }, 'second signal: exiting without waiting for the drain');
      process.exit(1);
    },
  });
}

await main();
