/** The path of src/api/schema.d.ts. */
export const schemaPath: string;
/** generate returns schema.d.ts as generated from the OpenAPI document at source (a path or an http(s) URL). */
export function generate(source: string): Promise<string>;
