import { build, zoneSettings } from './helpers';

// The whole templates of a prod deployment: any change to what is deployed
// shows in review. After a deliberate change: npx jest -u
describe('templates', () => {
  const b = build({ environment: 'prod', ...zoneSettings, alarmEmail: 'ops@example.com' });
  test.each([
    ['network', b.network],
    ['data', b.data],
    ['services', b.services],
  ])('%s', (_name, stack) => {
    expect(b.template(stack).toJSON()).toMatchSnapshot();
  });
});
