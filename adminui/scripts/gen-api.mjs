// Generates src/api/schema.d.ts, the types of the typed admin API client,
// from the admin API's OpenAPI document.
//
//   npm run gen:api                      from openapi.json (written by `make openapi`)
//   npm run gen:api -- http://127.0.0.1:8005/api/openapi.json   from a running admin API
//   npm run check:api                    fails when schema.d.ts is not what openapi.json gives
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { generate, schemaPath } from './schema.mjs';

const args = process.argv.slice(2);
const check = args.includes('--check');
const source = args.find((a) => !a.startsWith('--')) ?? fileURLToPath(new URL('../openapi.json', import.meta.url));

const out = await generate(source);
if (check) {
  const have = await readFile(schemaPath, 'utf8').catch(() => '');
  if (have !== out) {
    console.error('src/api/schema.d.ts is stale: run `make openapi` (or `npm run gen:api`) and commit it');
    process.exit(1);
  }
  console.log('src/api/schema.d.ts matches openapi.json');
} else {
  await writeFile(schemaPath, out);
  console.log(`wrote src/api/schema.d.ts from ${source}`);
}
