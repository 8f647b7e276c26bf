// @vitest-environment node
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generate, schemaPath } from './schema.mjs';

describe('src/api/schema.d.ts', () => {
  it('is what openapi.json (the admin API document, kept current by a Go test) generates', async () => {
    const source = fileURLToPath(new URL('../openapi.json', import.meta.url));
    const want = await generate(source);
    const have = await readFile(schemaPath, 'utf8');
    expect(have === want, 'src/api/schema.d.ts is stale: run `make openapi` and commit it').toBe(true);
  });
});
