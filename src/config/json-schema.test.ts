import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { configSchema } from './schema.js';

it('the committed gatehouse.schema.json matches the zod schema (run `npm run schema` after changing it)', () => {
  const generated = {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'gatehouse.yaml',
  };
  const committed: unknown = JSON.parse(
    readFileSync(new URL('../../gatehouse.schema.json', import.meta.url), 'utf8'),
  );
  expect(committed).toEqual(JSON.parse(JSON.stringify(generated)));
});
