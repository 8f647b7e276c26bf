import { describe, expect, it } from 'vitest';
import type { KeyView } from '../api/client';
import { keyCreateBody, keyFormValues, keyPatchBody, parseKeyForm, type KeyFormValues } from './keyForm';

const blank: KeyFormValues = { name: 'ci', owner: '', enabled: true, rpm: '', tpm: '', budget: '', expires: '', models: [], cacheTTL: '' };

const key: KeyView = {
  id: 'key_1', name: 'ci', owner: 'team', prefix: 'sk-abc', status: 'active', enabled: true, rpm: 0, tpm: 0,
  monthly_budget_micros: 0, allowed_models: null, created_at: '2026-11-01T00:00:00Z', revision: 3,
};

function fields(v: Partial<KeyFormValues>) {
  const p = parseKeyForm({ ...blank, ...v }, 'UTC');
  if (!p.fields) throw new Error(`form refused: ${JSON.stringify(p.errors)}`);
  return p.fields;
}

describe('parseKeyForm', () => {
  it('reads limits, money and the expiry day in the zone', () => {
    const p = parseKeyForm({ ...blank, name: ' ci ', rpm: '60', tpm: ' 1000 ', budget: '$12.50', expires: '2027-01-01', models: ['claude-haiku-4-5'] }, 'Asia/Shanghai');
    expect(p.errors).toEqual({});
    expect(p.fields).toEqual({
      name: 'ci', owner: '', enabled: true, rpm: 60, tpm: 1000, monthly_budget_micros: 12_500_000,
      expires_at: '2026-12-31T16:00:00Z', allowed_models: ['claude-haiku-4-5'], prompt_cache_ttl: '',
    });
  });
  it('keys each problem by its field', () => {
    const p = parseKeyForm({ ...blank, name: ' ', rpm: '1.5', tpm: '-3', budget: '1.0000001', expires: 'soon' }, 'UTC');
    expect(p.fields).toBeUndefined();
    expect(p.errors).toEqual({ name: 'keys.errNameRequired', rpm: 'keys.errWholeNumber', tpm: 'keys.errWholeNumber', budget: 'keys.errMoney', expires: 'keys.errDate' });
  });
  it.each(['', '5m', '1h', 'none'] as const)('passes the prompt-caching choice %j through', (ttl) => {
    expect(fields({ cacheTTL: ttl }).prompt_cache_ttl).toBe(ttl);
  });
});

describe('keyFormValues', () => {
  it('starts a new key at the gateway default', () => {
    expect(keyFormValues(undefined).cacheTTL).toBe('');
  });
  it('shows the key’s own prompt caching, or the default when it has none', () => {
    expect(keyFormValues({ ...key, prompt_cache_ttl: '1h' }).cacheTTL).toBe('1h');
    expect(keyFormValues({ ...key, prompt_cache_ttl: 'none' }).cacheTTL).toBe('none');
    expect(keyFormValues(key).cacheTTL).toBe('');
  });
});

describe('keyCreateBody', () => {
  it('leaves out what stays at its default', () => {
    expect(keyCreateBody(fields({}))).toEqual({ name: 'ci' });
  });
  it('sends a prompt caching other than the default', () => {
    expect(keyCreateBody(fields({ cacheTTL: '1h' }))).toEqual({ name: 'ci', prompt_cache_ttl: '1h' });
    expect(keyCreateBody(fields({ cacheTTL: 'none' }))).toEqual({ name: 'ci', prompt_cache_ttl: 'none' });
  });
});

describe('keyPatchBody', () => {
  const rest = { name: 'ci', owner: '', enabled: true, rpm: 0, tpm: 0, monthly_budget_micros: 0, expires_at: null, allowed_models: [] };
  it('sends a new prompt caching', () => {
    expect(keyPatchBody(fields({ cacheTTL: '1h' }), key)).toEqual({ ...rest, prompt_cache_ttl: '1h' });
    expect(keyPatchBody(fields({ cacheTTL: '5m' }), { ...key, prompt_cache_ttl: '1h' })).toEqual({ ...rest, prompt_cache_ttl: '5m' });
  });
  it('sends an empty string to go back to the gateway default', () => {
    expect(keyPatchBody(fields({ cacheTTL: '' }), { ...key, prompt_cache_ttl: 'none' })).toEqual({ ...rest, prompt_cache_ttl: '' });
  });
  it('leaves an unchanged prompt caching out', () => {
    expect(keyPatchBody(fields({ cacheTTL: '' }), key)).toEqual(rest);
    expect(keyPatchBody(fields({ cacheTTL: '1h' }), { ...key, prompt_cache_ttl: '1h' })).toEqual(rest);
  });
});
