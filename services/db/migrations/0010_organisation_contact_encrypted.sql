-- An organisation's contact person (name, phone, email) is personal data (policy clause 22, PIPL): it moves out
-- of `contact` (jsonb, in clear) into `contact_enc`, one AES-GCM blob written by the application under the
-- personal-data keyring (context org:<id>:contact; services/api/organisations/contact.py). `contact` keeps the
-- organisation's own office address only. The database never sees a key, so rows written before this migration
-- are sealed by `python -m services.api.organisations.seal_contacts` (also run by the demo loader), which is safe
-- to run twice; until it has run they keep their fields where they were, so nothing is lost in between.
ALTER TABLE organisations ADD COLUMN contact_enc bytea;
-- New and updated rows can never hold the person's fields in clear again. NOT VALID: rows from before this
-- migration are not checked until sealed (sealing an old row removes the fields, so its update passes).
ALTER TABLE organisations ADD CONSTRAINT organisations_contact_without_personal_fields
    CHECK (NOT contact ?| array['name', 'phone', 'email']) NOT VALID;
