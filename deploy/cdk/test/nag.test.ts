import { App } from 'aws-cdk-lib';
import { build, zoneSettings } from './helpers';

/** acknowledgments lists every cdk-nag rule acknowledged in app, with its construct path and reason. */
function acknowledgments(app: App): Array<{ path: string; id: string; reason: string }> {
  const out: Array<{ path: string; id: string; reason: string }> = [];
  for (const c of app.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== 'aws:cdk:acknowledged-rules') continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) out.push({ path: c.node.path, id, reason });
    }
  }
  return out;
}

describe.each([
  ['dev', { environment: 'dev' }],
  ['prod', { environment: 'prod', ...zoneSettings }],
])('cdk-nag AwsSolutions, %s', (name, context) => {
  const b = build(context);

  test('synthesizes with no unacknowledged finding', () => {
    // cdk-nag runs as a validation plugin: a finding fails the synth.
    expect(() => b.app.synth()).not.toThrow();
  });

  test('every acknowledgment gives a reason', () => {
    const acks = acknowledgments(b.app);
    for (const a of acks) expect(a.reason.length).toBeGreaterThan(40);
    expect(acks.map((a) => `${a.path} ${a.id}`).sort()).toMatchSnapshot(`${name} acknowledgments`);
  });
});
