import { createDetectorSet, maskJsonText } from '../src/masking/index.js';
const d = createDetectorSet({});
const items = Array.from({ length: 40000 }, (_, i) => ({ id: i, name: `user ${i}`, email: `u${i}@example.com`, note: 'lorem ipsum dolor sit amet '.repeat(4), card: i % 10 === 0 ? '4111 1111 1111 1111' : 'none' }));
const text = JSON.stringify({ data: items });
console.log((text.length / 1e6).toFixed(1), 'MB');
for (let k = 0; k < 3; k++) {
  const t = performance.now();
  const r = maskJsonText(text, d, { keyNames: [], style: 'redact', keysInInvalidJson: true });
  console.log((performance.now() - t).toFixed(0), 'ms', r === null ? 'null' : r.text.length);
}
