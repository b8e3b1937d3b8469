-- Demo schema: a small shop with personal data and secrets, so guardrails and masking have
-- something real to protect. Card numbers are the networks' published test numbers.
CREATE TABLE IF NOT EXISTS customers (
  id          serial PRIMARY KEY,
  name        text NOT NULL,
  email       text NOT NULL UNIQUE,
  phone       text,
  card_number text,
  country     text NOT NULL DEFAULT 'US',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS orders (
  id          serial PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customers(id),
  order_no    text NOT NULL UNIQUE,
  amount      numeric(10,2) NOT NULL,
  status      text NOT NULL CHECK (status IN ('pending','paid','shipped','refunded')),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS api_keys (
  id          serial PRIMARY KEY,
  customer_id int REFERENCES customers(id),
  service     text NOT NULL,
  key_id      text,
  secret      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO customers (name, email, phone, card_number, country) VALUES
  ('Ada Lovelace',     'ada@example.com',      '+44 20 7946 0958', '4111 1111 1111 1111', 'GB'),
  ('Grace Hopper',     'grace@example.com',    '(415) 555-0123',   '5555555555554444',    'US'),
  ('Alan Turing',      'alan@example.org',     '+44 161 496 0000', '3782-822463-10005',   'GB'),
  ('Katherine Johnson','katherine@example.net','757-555-0188',     '6011111111111117',    'US'),
  ('Linus Torvalds',   'linus@example.fi',     '+358 9 1234567',   '4012888888881881',    'FI'),
  ('Margaret Hamilton','margaret@example.com', '+1 617 555 0145',  '5105105105105100',    'US')
ON CONFLICT (email) DO NOTHING;
INSERT INTO orders (customer_id, order_no, amount, status)
SELECT c.id, 'ORD-2026-' || lpad((c.id * 100 + g)::text, 6, '0'), round((random() * 500 + 5)::numeric, 2),
       (ARRAY['pending','paid','shipped','refunded'])[1 + (g % 4)]
FROM customers c, generate_series(1, 5) g
ON CONFLICT (order_no) DO NOTHING;
INSERT INTO api_keys (customer_id, service, key_id, secret)
SELECT * FROM (VALUES
  (1, 'aws',    'AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'),
  (2, 'stripe', NULL,                   'sk_live_51HqJ2kEXAMPLEdemoKey0000000000000000'),
  (3, 'github', NULL,                   'ghp_EXAMPLEdemoToken00000000000000000000'),
  (4, 'openai', NULL,                   'sk-proj-EXAMPLEdemoKey000000000000000000000000')
) AS v(customer_id, service, key_id, secret)
WHERE NOT EXISTS (SELECT 1 FROM api_keys);
