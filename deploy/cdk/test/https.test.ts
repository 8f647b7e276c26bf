import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { SettingsError } from '../lib/settings';
import { build, certificateArn, zoneSettings } from './helpers';

describe('HTTPS', () => {
  test('hosted zone and domain: a DNS-validated certificate, the alias record, HTTP redirected', () => {
    const b = build({ environment: 'prod', ...zoneSettings });
    const t = b.template(b.services);
    t.hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: 'api.example.com',
      ValidationMethod: 'DNS',
      DomainValidationOptions: [{ DomainName: 'api.example.com', HostedZoneId: 'Z0123456789ABCDEFGHIJ' }],
    });
    t.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'api.example.com.', Type: 'A', HostedZoneId: 'Z0123456789ABCDEFGHIJ' });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: { Ref: Match.stringLikeRegexp('Certificate') } }],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80,
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }],
    });
    expect(b.services.url).toBe('https://api.example.com');
  });

  test('an imported certificate: no certificate created, no DNS record without a zone', () => {
    const b = build({ environment: 'prod', domainName: 'api.example.com', certificateArn });
    const t = b.template(b.services);
    t.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    t.resourceCountIs('AWS::Route53::RecordSet', 0);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Certificates: [{ CertificateArn: certificateArn }] });
    b.template(b.data).hasResourceProperties('AWS::Cognito::UserPoolClient', { CallbackURLs: ['https://api.example.com/admin/callback'] });
  });

  test('an imported certificate with a zone gets the record', () => {
    const b = build({ environment: 'prod', ...zoneSettings, certificateArn });
    const t = b.template(b.services);
    t.resourceCountIs('AWS::CertificateManager::Certificate', 0);
    t.resourceCountIs('AWS::Route53::RecordSet', 1);
  });

  test('dev without a certificate: plain HTTP with the same routes, and a warning', () => {
    const b = build({ environment: 'dev' });
    const t = b.template(b.services);
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 2);
    Annotations.fromStack(b.services).hasWarning('*', Match.stringLikeRegexp('no certificate: the load balancer serves plain HTTP'));
    // Cognito refuses http callbacks but for localhost.
    b.template(b.data).hasResourceProperties('AWS::Cognito::UserPoolClient', { CallbackURLs: ['http://localhost:8005/admin/callback'] });
  });

  test('prod without a certificate does not synthesize', () => {
    expect(() => build({ environment: 'prod' })).toThrow(SettingsError);
    expect(() => build({ environment: 'prod' })).toThrow(/prod needs HTTPS/);
  });
});
