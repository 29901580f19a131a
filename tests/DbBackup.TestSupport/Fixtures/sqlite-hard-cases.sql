-- SQLite hard cases for round-trip tests: blobs, unicode, indexes, triggers, views. Deterministic.
PRAGMA foreign_keys = ON;
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE,
    note TEXT,
    balance REAL,
    exact TEXT,
    avatar BLOB,
    created TEXT NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    amount NUMERIC NOT NULL CHECK (amount >= 0),
    placed TEXT
);
CREATE TABLE audit_log (id INTEGER PRIMARY KEY, message TEXT NOT NULL);
CREATE TABLE "weird ""name"" table" ("select" INTEGER, "väl ue" TEXT, PRIMARY KEY ("select")) WITHOUT ROWID;
CREATE UNIQUE INDEX customers_name ON customers (name);
CREATE INDEX orders_customer ON orders (customer_id, placed DESC);
CREATE INDEX customers_partial ON customers (balance) WHERE balance > 100;
CREATE TRIGGER customers_audit AFTER INSERT ON customers BEGIN
    INSERT INTO audit_log (message) VALUES ('new customer ' || NEW.name);
END;
INSERT INTO customers (name, note, balance, exact, avatar, created) VALUES
    ('Ada Lovelace', 'first', 1234.5, '123456789012345678.123456789', x'00010203fffefdfc', '1843-07-01T10:00:00Z'),
    ('Zoë 😀🎉 𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'emoji 🙈', -0.000001, NULL, zeroblob(300), '2024-02-29T23:59:59.999999+05:30'),
    ('O''Brien; DROP TABLE x', 'tab	new
line', 0, '', x'', '1970-01-01T00:00:01Z');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO customers (name, balance, avatar, created)
    SELECT 'customer ' || i, i * 1.5, CASE WHEN i % 100 = 0 THEN x'deadbeef' || zeroblob(i) ELSE NULL END, '2024-01-01T00:00:00Z' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO orders (customer_id, amount, placed) SELECT 1 + i % 2000, i * 1.37, '2024-05-01T00:00:00Z' FROM n;
INSERT INTO "weird ""name"" table" VALUES (1, 'ä'), (2, NULL);
CREATE VIEW order_totals AS
    SELECT c.name, SUM(o.amount) AS total, COUNT(*) AS orders
    FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.name;
