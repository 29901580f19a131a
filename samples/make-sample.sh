#!/usr/bin/env bash
# Rebuilds samples/shop.db, the small SQLite database used by the README's first command.
# Reproducible: fixed data only, no random() or timestamps; the file is rebuilt from scratch and vacuumed.
set -euo pipefail
cd "$(dirname "$0")"
command -v sqlite3 >/dev/null || { echo "make-sample.sh: sqlite3 is required (Debian: apt-get install sqlite3)" >&2; exit 1; }
rm -f shop.db shop.db-journal shop.db-wal shop.db-shm
sqlite3 -bail shop.db >/dev/null <<'SQL'
PRAGMA page_size = 4096;
PRAGMA journal_mode = DELETE;
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT UNIQUE,
    country TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    image BLOB
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    product_id INTEGER NOT NULL REFERENCES products (id),
    quantity INTEGER NOT NULL DEFAULT 1,
    placed TEXT NOT NULL
);
CREATE TABLE order_log (id INTEGER PRIMARY KEY, message TEXT NOT NULL);
CREATE INDEX orders_by_customer ON orders (customer_id, placed);
CREATE TRIGGER orders_log AFTER INSERT ON orders BEGIN
    INSERT INTO order_log (message) VALUES ('order ' || NEW.id || ' for customer ' || NEW.customer_id);
END;
CREATE VIEW customer_totals AS
    SELECT c.name, count(o.id) AS orders, sum(o.quantity * p.price_cents) / 100.0 AS total
    FROM customers c LEFT JOIN orders o ON o.customer_id = c.id LEFT JOIN products p ON p.id = o.product_id
    GROUP BY c.id;

INSERT INTO customers (name, email, country, created) VALUES
    ('Ada Lovelace', 'ada@example.org', 'GB', '2024-01-02T10:00:00Z'),
    ('Zoë Ünïcödé', 'zoe@example.org', 'FR', '2024-01-03T11:30:00Z'),
    ('李小龍', 'lee@example.org', 'HK', '2024-01-04T08:15:00Z'),
    ('Ολυμπία 🎉', 'olympia@example.org', 'GR', '2024-01-05T19:45:00Z');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO customers (name, email, country, created)
    SELECT 'Customer ' || i, 'customer' || i || '@example.org', CASE i % 3 WHEN 0 THEN 'DE' WHEN 1 THEN 'US' ELSE 'JP' END,
           '2024-02-01T00:00:00Z' FROM n;
INSERT INTO products (name, price_cents, image) VALUES
    ('Tea ☕', 450, x'89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489'),
    ('Café au lait', 380, NULL),
    ('Croissant 🥐', 250, zeroblob(64)),
    ('Matcha 抹茶', 520, NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO orders (customer_id, product_id, quantity, placed)
    SELECT 1 + (i * 7) % 204, 1 + i % 4, 1 + i % 3, '2024-03-01T00:00:00Z' FROM n;
VACUUM;
SQL
echo "samples/shop.db: $(stat -c %s shop.db) bytes, $(sqlite3 shop.db 'select count(*) from orders') orders"
