// Writes gatehouse.schema.json (JSON Schema for editors) from the zod schema: `npm run schema`.
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema } from './schema.js';

const out = process.argv[2] ?? 'gatehouse.schema.json';
const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
writeFileSync(out, `${JSON.stringify({ ...schema, title: 'gatehouse.yaml' }, null, 2)}\n`);
console.log(`wrote ${out}`);
