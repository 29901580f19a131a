-- MariaDB hard cases for round-trip tests: utf8mb4 incl. emoji, blobs, decimals, datetime(6), JSON,
-- SET/ENUM, views, triggers, routines, events. Deterministic: no RAND(), no NOW().
SET NAMES utf8mb4;
CREATE TABLE customers (
    id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name varchar(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    note text,
    balance decimal(20,6) NOT NULL DEFAULT 0,
    tiny_money decimal(5,2),
    created datetime(6) NOT NULL,
    updated timestamp(3) NULL DEFAULT NULL,
    prefs json CHECK (JSON_VALID(prefs)),
    flags set('newsletter','beta','staff'),
    tier enum('free','pro','enterprise') NOT NULL DEFAULT 'free',
    avatar blob,
    payload longblob,
    ratio double,
    UNIQUE KEY uk_name (name),
    KEY idx_created (created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE orders (
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    customer_id int unsigned NOT NULL,
    amount decimal(12,2) NOT NULL,
    placed datetime(6) NOT NULL,
    CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE audit_log (
    id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
    message varchar(200) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `weird ``name`` table` (
    `select` int NOT NULL PRIMARY KEY,
    `väl ue` varchar(20)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

DELIMITER //
CREATE TRIGGER customers_audit AFTER INSERT ON customers FOR EACH ROW
BEGIN
    INSERT INTO audit_log (message) VALUES (CONCAT('new customer ', NEW.name));
END//
CREATE PROCEDURE add_order(IN p_customer int unsigned, IN p_amount decimal(12,2))
BEGIN
    INSERT INTO orders (customer_id, amount, placed) VALUES (p_customer, p_amount, '2024-01-01 00:00:00.000001');
END//
CREATE FUNCTION with_tax(p decimal(12,2)) RETURNS decimal(14,2) DETERMINISTIC
BEGIN
    RETURN p * 1.2;
END//
DELIMITER ;

INSERT INTO customers (name, note, balance, tiny_money, created, updated, prefs, flags, tier, avatar, payload, ratio) VALUES
    ('Ada Lovelace', 'first', 1234567890.123456, 999.99, '1843-07-01 10:00:00.000000', '2024-01-01 00:00:00.123', '{"lang": "en", "n": [1, 2, null]}', 'newsletter,staff', 'pro', NULL, NULL, 0.1),
    ('Zoë 😀🎉 𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'emoji: 🙈🙉🙊', -0.000001, -999.99, '2024-02-29 23:59:59.999999', NULL, '{"emoji": "🎉"}', '', 'enterprise',
        (SELECT UNHEX(GROUP_CONCAT(LPAD(HEX(seq), 2, '0') ORDER BY seq SEPARATOR '')) FROM seq_0_to_255), NULL, -1.5e300),
    ('O''Brien; DROP TABLE x', 'tab\tnew\nline\\back "quotes"', 0, NULL, '1970-01-01 00:00:01.000000', NULL, NULL, NULL, 'free', x'', x'00', NULL);
INSERT INTO customers (name, balance, created, prefs, flags, tier, payload)
    SELECT CONCAT('customer ', seq), seq * 1.000001, '2024-01-01 00:00:00' + INTERVAL seq MINUTE + INTERVAL seq MICROSECOND,
        JSON_OBJECT('i', seq, 'even', seq % 2 = 0), IF(seq % 3 = 0, 'beta', NULL), ELT(1 + seq % 3, 'free', 'pro', 'enterprise'),
        IF(seq % 50 = 0, (SELECT GROUP_CONCAT(SHA2(x.seq, 256) SEPARATOR '') FROM seq_1_to_300 AS x), NULL)
    FROM seq_1_to_1500;
CALL add_order(1, 10.50);
INSERT INTO orders (customer_id, amount, placed)
    SELECT 1 + seq % 1500, seq * 1.37, '2024-05-01 00:00:00' + INTERVAL seq SECOND FROM seq_1_to_3000;
INSERT INTO `weird ``name`` table` VALUES (1, 'ä'), (2, NULL);

CREATE VIEW order_totals AS
    SELECT c.name, SUM(o.amount) AS total, COUNT(*) AS orders
    FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.name;
CREATE EVENT nightly_cleanup ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 03:00:00' DISABLE
    DO DELETE FROM audit_log WHERE id < 0;
