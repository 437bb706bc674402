-- A replay must be the first answer byte for byte. jsonb orders an object's keys by length, so a stored answer
-- read back came out in another field order than the one sent; json keeps the text as written (the order the
-- response model gave). The stored answer still holds its sealed fields encrypted: only its order is kept.
-- Records written before keep jsonb's order (they expire within the idempotency TTL).
ALTER TABLE idempotency_records ALTER COLUMN response_body TYPE json USING response_body::json;
