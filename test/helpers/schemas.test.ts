// The output checks themselves: each apiserver rule they add to the Pod schema must catch what it names.
import t from 'tap';
import { validatePod } from './schemas.ts';

const pod = (container: Record<string, unknown>, volumes: unknown[] = [{ name: 'data', emptyDir: {} }]) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'app', image: 'app:1', ...container }], volumes },
});

t.test('a valid pod passes', async (t) => {
  t.same(validatePod(pod({ volumeMounts: [{ name: 'data', mountPath: '/data' }] })), []);
});

t.test('each rule catches what it names', async (t) => {
  const cases: Array<[string, ReturnType<typeof pod>, RegExp]> = [
    ['a mount of a volume the pod lacks', pod({ volumeMounts: [{ name: 'nope', mountPath: '/x' }] }), /mount of missing volume "nope"/],
    [
      'two mounts at one path',
      pod({ volumeMounts: [{ name: 'data', mountPath: '/x' }, { name: 'data', mountPath: '/x' }] }),
      /duplicate mountPath "\/x"/,
    ],
    [
      'a block device at a mount path',
      pod(
        { volumeMounts: [{ name: 'data', mountPath: '/x' }], volumeDevices: [{ name: 'raw', devicePath: '/x' }] },
        [{ name: 'data', emptyDir: {} }, { name: 'raw', persistentVolumeClaim: { claimName: 'c' } }],
      ),
      /devicePath "\/x" is also a mountPath/,
    ],
    ['two volumes of one name', pod({}, [{ name: 'data', emptyDir: {} }, { name: 'data', emptyDir: {} }]), /duplicate name "data"/],
  ];
  for (const [name, input, expected] of cases) {
    t.match(validatePod(input).join('\n'), expected, name);
  }
});
