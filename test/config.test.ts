import t from 'tap';
import { ConfigError, loadConfig } from '../src/config.ts';

t.test('no settings at all gives the documented defaults', async (t) => {
  const c = loadConfig({});
  t.equal(c.port, 8443);
  t.equal(c.host, '::');
  t.equal(c.metricsPort, 9090);
  t.equal(c.tlsCertFile, undefined);
  t.equal(c.tlsKeyFile, undefined);
  t.equal(c.environment, 'dev');
  t.equal(c.region, 'us-east-1');
  t.equal(c.podNamespace, 'db-access-webhook');
  t.same(c.excludedNamespaces, []);
  t.equal(c.usePodIdentity, false);
  t.equal(c.urlFromSecret, false);
  t.equal(c.onKubeError, 'deny');
  t.equal(c.preflight, 'off');
  t.equal(c.preflightOrgTag, '');
  t.equal(c.kube, 'auto');
  t.equal(c.logLevel, 'info');
  t.equal(c.maxInFlight, 1024);
  t.equal(c.maxEventLoopDelayMs, 2000);
  t.equal(c.drainMs, 5000);
  t.same(c.policy, {
    environment: 'dev',
    region: 'us-east-1',
    webhookNamespace: 'db-access-webhook',
    excludedNamespaces: [],
    usePodIdentity: false,
    urlFromSecret: false,
  });
});

t.test('every setting is read and the engine policy derived from it', async (t) => {
  const c = loadConfig({
    PORT: '9443',
    HOST: '127.0.0.1',
    METRICS_PORT: '0',
    TLS_CERT_FILE: '/tls/tls.crt',
    TLS_KEY_FILE: '/tls/tls.key',
    DB_ACCESS_ENVIRONMENT: 'prod',
    AWS_REGION: 'eu-west-2',
    POD_NAMESPACE: 'webhooks',
    DB_ACCESS_EXCLUDED_NAMESPACES: ' monitoring, ,istio-system,monitoring ',
    DB_ACCESS_USE_POD_IDENTITY: 'true',
    DB_ACCESS_URL_FROM_SECRET: 'TRUE',
    DB_ACCESS_ON_KUBE_ERROR: 'Warn',
    DB_ACCESS_PREFLIGHT: 'DENY',
    DB_ACCESS_PREFLIGHT_ORG_TAG: 'organization',
    DB_ACCESS_KUBE: 'Memory',
    LOG_LEVEL: 'DEBUG',
    DB_ACCESS_MAX_IN_FLIGHT: '64',
    DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS: '5000',
    DB_ACCESS_DRAIN_SECONDS: '0',
  });
  t.equal(c.drainMs, 0);
  t.equal(c.maxInFlight, 64);
  t.equal(c.maxEventLoopDelayMs, 5000);
  t.equal(c.port, 9443);
  t.equal(c.host, '127.0.0.1');
  t.equal(c.metricsPort, 0);
  t.equal(c.tlsCertFile, '/tls/tls.crt');
  t.equal(c.tlsKeyFile, '/tls/tls.key');
  t.same(c.excludedNamespaces, ['monitoring', 'istio-system']);
  t.equal(c.onKubeError, 'warn');
  t.equal(c.preflight, 'deny');
  t.equal(c.preflightOrgTag, 'organization');
  t.equal(c.kube, 'memory');
  t.equal(c.logLevel, 'debug');
  t.same(c.policy, {
    environment: 'prod',
    region: 'eu-west-2',
    webhookNamespace: 'webhooks',
    excludedNamespaces: ['monitoring', 'istio-system'],
    usePodIdentity: true,
    urlFromSecret: true,
  });
});

t.test('empty values count as unset', async (t) => {
  const c = loadConfig({ PORT: '', DB_ACCESS_PREFLIGHT: '  ', TLS_CERT_FILE: '', TLS_KEY_FILE: '' });
  t.equal(c.port, 8443);
  t.equal(c.preflight, 'off');
  t.equal(c.tlsCertFile, undefined);
});

t.test('DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS=0 disables the delay check; the in-flight cap cannot be disabled', async (t) => {
  t.equal(loadConfig({ DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS: '0' }).maxEventLoopDelayMs, 0);
  t.equal(loadConfig({ DB_ACCESS_MAX_IN_FLIGHT: '1' }).maxInFlight, 1);
  t.throws(() => loadConfig({ DB_ACCESS_MAX_IN_FLIGHT: '0' }), /DB_ACCESS_MAX_IN_FLIGHT must be an integer from 1 to 1000000; got "0"/);
});

t.test('a bad value names the variable, the value and what is accepted', async (t) => {
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ DB_ACCESS_PREFLIGHT: 'maybe' }, 'DB_ACCESS_PREFLIGHT', /^DB_ACCESS_PREFLIGHT must be one of off, warn, deny; got "maybe"$/],
    [{ DB_ACCESS_ON_KUBE_ERROR: 'allow' }, 'DB_ACCESS_ON_KUBE_ERROR', /must be one of deny, warn; got "allow"/],
    [{ DB_ACCESS_KUBE: 'incluster' }, 'DB_ACCESS_KUBE', /must be one of auto, cluster, memory; got "incluster"/],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', /must be one of fatal, error, warn, info, debug, trace, silent; got "verbose"/],
    [{ PORT: 'https' }, 'PORT', /PORT must be an integer from 0 to 65535.*got "https"/],
    [{ PORT: '70000' }, 'PORT', /got "70000"/],
    [{ PORT: '-1' }, 'PORT', /got "-1"/],
    [{ METRICS_PORT: '9090.5' }, 'METRICS_PORT', /METRICS_PORT must be an integer from 0 \(disabled\) to 65535; got "9090.5"/],
    [{ DB_ACCESS_USE_POD_IDENTITY: 'yes' }, 'DB_ACCESS_USE_POD_IDENTITY', /must be one of true, false; got "yes"/],
    [{ DB_ACCESS_URL_FROM_SECRET: '1' }, 'DB_ACCESS_URL_FROM_SECRET', /must be one of true, false; got "1"/],
    [{ DB_ACCESS_ENVIRONMENT: 'Prod' }, 'DB_ACCESS_ENVIRONMENT', /lowercase DNS label.*got "Prod"/],
    [{ DB_ACCESS_ENVIRONMENT: 'a/b' }, 'DB_ACCESS_ENVIRONMENT', /got "a\/b"/],
    [{ AWS_REGION: 'mars' }, 'AWS_REGION', /AWS_REGION must be an AWS region such as us-east-1.*got "mars"/],
    [{ HOST: 'not a host' }, 'HOST', /HOST must be an IP address .* or a host name; got "not a host"/],
    [{ HOST: '::1::2' }, 'HOST', /got "::1::2"/],
    [{ HOST: 'LocalHost' }, 'HOST', /^HOST=localhost listens on two addresses; use 127.0.0.1 or ::1$/],
    [{ POD_NAMESPACE: 'Bad_NS' }, 'POD_NAMESPACE', /got "Bad_NS"/],
    [{ DB_ACCESS_EXCLUDED_NAMESPACES: 'ok,not ok' }, 'DB_ACCESS_EXCLUDED_NAMESPACES', /got "not ok"/],
    [{ DB_ACCESS_PREFLIGHT_ORG_TAG: 'bad\ntag' }, 'DB_ACCESS_PREFLIGHT_ORG_TAG', /AWS tag key.*got "bad\\ntag"/],
    [{ DB_ACCESS_MAX_IN_FLIGHT: 'many' }, 'DB_ACCESS_MAX_IN_FLIGHT', /DB_ACCESS_MAX_IN_FLIGHT must be an integer from 1 to 1000000; got "many"/],
    [{ DB_ACCESS_MAX_IN_FLIGHT: '2000000' }, 'DB_ACCESS_MAX_IN_FLIGHT', /got "2000000"/],
    [{ DB_ACCESS_MAX_IN_FLIGHT: '-5' }, 'DB_ACCESS_MAX_IN_FLIGHT', /got "-5"/],
    [{ DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS: '2s' }, 'DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS', /from 0 \(check disabled\) to 60000; got "2s"/],
    [{ DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS: '1.5' }, 'DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS', /got "1.5"/],
    [{ DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS: '60001' }, 'DB_ACCESS_MAX_EVENT_LOOP_DELAY_MS', /got "60001"/],
    [{ DB_ACCESS_DRAIN_SECONDS: '61' }, 'DB_ACCESS_DRAIN_SECONDS', /from 0 to 60; got "61"/],
    [{ DB_ACCESS_DRAIN_SECONDS: '5s' }, 'DB_ACCESS_DRAIN_SECONDS', /got "5s"/],
    [{ TLS_CERT_FILE: '/tls/tls.crt' }, 'TLS_KEY_FILE', /TLS_KEY_FILE must be set when TLS_CERT_FILE is set/],
    [{ TLS_KEY_FILE: '/tls/tls.key' }, 'TLS_CERT_FILE', /TLS_CERT_FILE must be set when TLS_KEY_FILE is set/],
    [{ PORT: '9090' }, 'METRICS_PORT', /METRICS_PORT must differ from PORT \(both 9090\).*METRICS_PORT=0 to disable/],
    [{ PORT: '8443', METRICS_PORT: '8443' }, 'METRICS_PORT', /must differ from PORT \(both 8443\)/],
  ];
  for (const [env, variable, message] of cases) {
    const err = t.throws(() => loadConfig(env), ConfigError, `${JSON.stringify(env)} is rejected`) as unknown;
    t.ok(err instanceof ConfigError);
    if (err instanceof ConfigError) {
      t.equal(err.variable, variable);
      t.match(err.message, message);
      t.ok(err.message.startsWith(variable), 'the message starts with the variable name');
    }
  }
});

t.test('PORT=0 (any free port) with METRICS_PORT=0 (no probe listener) is not a clash', async (t) => {
  const c = loadConfig({ PORT: '0', METRICS_PORT: '0' });
  t.equal(c.port, 0);
  t.equal(c.metricsPort, 0);
});

t.test('a very long bad value is shortened in the message', async (t) => {
  try {
    loadConfig({ DB_ACCESS_PREFLIGHT: 'x'.repeat(5000) });
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    t.ok((err as Error).message.length < 300);
  }
});

t.test('HOST takes IPv4, IPv6 and host names; AWS_REGION takes every region family, sovereign cloud included', async (t) => {
  for (const host of ['::', '0.0.0.0', '127.0.0.1', '::1', 'fd00::1', 'webhook.internal']) t.equal(loadConfig({ HOST: host }).host, host);
  for (const region of ['us-east-1', 'us-gov-west-1', 'cn-northwest-1', 'ap-southeast-4', 'eusc-de-east-1']) {
    t.equal(loadConfig({ AWS_REGION: region }).region, region);
  }
});
