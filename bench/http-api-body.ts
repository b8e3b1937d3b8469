// The HTTP benchmark's small API answer, shared by bench/http-upstreams.ts and bench/hold.ts.

/** A small, typical API answer (about 200 bytes of JSON, nothing in it to mask). */
export const API_BODY = JSON.stringify({
  id: 1142,
  sku: 'WIDGET-1142',
  name: 'Blue widget, large',
  stock: 12,
  warehouse: 'north',
  updated: '2026-01-01T00:00:00Z',
  tags: ['hardware', 'blue', 'large'],
});
