// The MutatingWebhookConfiguration's safety settings: failurePolicy Fail can only ever affect opted-in pods, the
// webhook never sees control-plane namespaces or its own pods, and dry runs create nothing.
import t from 'tap';
import {
  actionBody,
  actionOf,
  controlStackAt,
  docsOfKind,
  helperBody,
  isRecord,
  loadDefaultValues,
  readTemplate,
  skeleton,
} from './chart.ts';

const FILE = 'mutatingwebhookconfiguration.yaml';
const source = readTemplate(FILE);
const values = loadDefaultValues();
const s = skeleton(source, { values });
const [config] = docsOfKind(s, 'MutatingWebhookConfiguration');
const webhooks = isRecord(config) && Array.isArray(config['webhooks']) ? (config['webhooks'] as Record<string, unknown>[]) : [];
const webhook = webhooks[0] ?? {};
const defaultsWebhook = values['webhook'] as Record<string, unknown>;
const KUBE_GATE = 'semverCompare ">=1.30-0" .Capabilities.KubeVersion.Version';

t.test('one webhook, admissionregistration v1', async (t) => {
  t.equal(config?.['apiVersion'], 'admissionregistration.k8s.io/v1');
  t.equal(webhooks.length, 1);
  t.match(source, /\n {2}- name: \{\{ include "db-access-webhook\.webhookName" \. \}\}\n/, 'named by the helper the alerts use too');
  const name = /\{\{- define "db-access-webhook\.webhookName" -\}\}\n([^\n]+)\n\{\{- end \}\}/.exec(readTemplate('_helpers.tpl'))?.[1];
  t.match(name, /^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/, 'a fully qualified webhook name');
});

t.test('pods, CREATE only, v1 reviews', async (t) => {
  t.same(webhook['admissionReviewVersions'], ['v1']);
  t.same(webhook['rules'], [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }]);
});

t.test('side effects, reinvocation and timeout', async (t) => {
  t.equal(webhook['sideEffects'], 'NoneOnDryRun', 'SecretProviderClasses are created, but not on dry run');
  t.equal(webhook['reinvocationPolicy'], 'IfNeeded', 'from values.yaml');
  t.equal(defaultsWebhook['reinvocationPolicy'], 'IfNeeded');
  t.equal(webhook['timeoutSeconds'], 10, 'from values.yaml, default 10');
  t.equal(defaultsWebhook['timeoutSeconds'], 10);
});

t.test('failurePolicy is Fail only where matchConditions scope it', async (t) => {
  t.equal(actionBody(actionOf(s, webhook['failurePolicy']) ?? ''), '$failurePolicy');
  t.match(source, `{{- $hasMatchConditions := ${KUBE_GATE} }}`, 'the gate is the apiserver version, 1.30+');
  t.match(source, '{{- $failurePolicy := .Values.webhook.failurePolicy }}');
  t.same(controlStackAt(source, '$failurePolicy = .Values.webhook.failurePolicyWithoutMatchConditions'), ['if not $hasMatchConditions']);
  t.equal(defaultsWebhook['failurePolicy'], 'Fail', 'default Fail for opted-in pods');
  t.equal(defaultsWebhook['failurePolicyWithoutMatchConditions'], 'Ignore', 'never Fail for every pod on old clusters');
});

t.test('matchConditions: only pods carrying the annotation, emitted when the cluster supports them', async (t) => {
  t.same(controlStackAt(source, 'matchConditions:'), ['if $hasMatchConditions']);
  const conditions = webhook['matchConditions'];
  t.ok(Array.isArray(conditions) && conditions.length === 1, 'one condition');
  const expression = String((conditions as Record<string, unknown>[])[0]?.['expression']);
  t.match(expression, /^has\(object\.metadata\.annotations\) && 'db-access\/enabled' in object\.metadata\.annotations$/);
  t.notMatch(expression, /__TPL_/, 'a literal expression, nothing templated into CEL');
});

t.test('namespaceSelector: control plane, own namespace, extras and the opt-out label', async (t) => {
  const selector = webhook['namespaceSelector'] as Record<string, unknown>;
  t.same(Object.keys(selector), ['matchExpressions'], 'no matchLabels that could widen or narrow it elsewhere');
  const [byName, optOut, ...rest] = selector['matchExpressions'] as Record<string, unknown>[];
  t.same(rest, []);
  t.equal(byName?.['key'], 'kubernetes.io/metadata.name');
  t.equal(byName?.['operator'], 'NotIn');
  t.equal(actionBody(actionOf(s, byName?.['values']) ?? ''), 'include "db-access-webhook.excludedNamespaces" .');
  const helper = helperBody('db-access-webhook.excludedNamespaces');
  t.match(helper, /list "kube-system" "kube-node-lease" "kube-public" \.Release\.Namespace\)/, 'control plane and the release namespace');
  t.match(helper, /\.Values\.webhook\.excludedNamespaces/, 'plus the configured extras');
  t.same(optOut, { key: defaultsWebhook['namespaceOptOutLabel'], operator: 'NotIn', values: ['disabled'] });
  t.equal(defaultsWebhook['namespaceOptOutLabel'], 'db-access/injection');
});

t.test('objectSelector: never the webhook pods themselves', async (t) => {
  t.same(webhook['objectSelector'], { matchExpressions: [{ key: 'db-access/component', operator: 'NotIn', values: ['webhook'] }] });
  const deployment = readTemplate('deployment.yaml');
  t.match(deployment, /\n {8}db-access\/component: webhook\n/, 'the Deployment labels its pods so');
  t.same(controlStackAt(deployment, 'db-access/component: webhook'), [], 'unconditionally');
});

t.test('clientConfig: the chart Service, path /mutate, caBundle per TLS mode', async (t) => {
  const clientConfig = webhook['clientConfig'] as Record<string, unknown>;
  const service = clientConfig['service'] as Record<string, unknown>;
  t.equal(service['path'], '/mutate');
  t.equal(service['port'], (values['service'] as Record<string, unknown>)['port']);
  t.equal(actionBody(actionOf(s, service['name']) ?? ''), '$fullname | quote');
  t.equal(actionBody(actionOf(s, service['namespace']) ?? ''), '.Release.Namespace | quote');
  t.match(source, '{{- $fullname := include "db-access-webhook.fullname" . }}');
  t.same(controlStackAt(source, 'caBundle: {{ $caBundle }}'), ['if $caBundle'], 'set only when known (not in cert-manager mode)');
  t.same(controlStackAt(source, 'cert-manager.io/inject-ca-from'), ['if eq .Values.tls.mode "certManager"']);
  t.match(source, /cert-manager\.io\/inject-ca-from: \{\{ printf "%s\/%s-tls" \.Release\.Namespace \$fullname \| quote \}\}/);
  t.match(readTemplate('certificate.yaml'), /\n {2}name: \{\{ \$fullname \}\}-tls\n/, 'which names the serving Certificate');
  t.match(source, /\$caBundle = required "[^"]+" \.Values\.tls\.existingSecret\.caBundle \| b64enc/, 'existingSecret: the caBundle value');
  t.match(source, /genCA/, 'selfSigned: generated at install time');
});

t.test('selfSigned mode: the Secret comes from the same CA as the caBundle, and survives upgrades', async (t) => {
  const [secret] = docsOfKind(s, 'Secret');
  t.same(controlStackAt(source, 'kind: Secret'), ['else if eq .Values.tls.mode "selfSigned"'], 'selfSigned branch only');
  // The CA of tls.crt; while a renewed pair rolls out the caBundle also trusts the previous CA (helm-lookup.test.ts).
  t.equal(actionBody(actionOf(s, (secret?.['data'] as Record<string, unknown>)['ca.crt']) ?? ''), '$newCa | default $caBundle');
  t.match(source, /lookup "v1" "Secret" \.Release\.Namespace \$secretName/);
  t.match(source, /genSignedCert \$fullname nil \(include "db-access-webhook\.dnsNames" \. \| fromJsonArray\) \$days \$ca/);
  t.match(helperBody('db-access-webhook.dnsNames'), /printf "%s\.%s\.svc" \$svc \.Release\.Namespace/, 'SAN <svc>.<ns>.svc');
});
