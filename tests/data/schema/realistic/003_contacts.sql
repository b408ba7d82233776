-- 003 — contacts (folders were merged into a column later)

CREATE TABLE contacts (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    clerk_org_id TEXT NOT NULL,
    folder TEXT,
    first_name TEXT,
    last_name TEXT,
    phone TEXT NOT NULL,
    notes TEXT
);

-- PostgreSQL has no IF NOT EXISTS for constraints: this line is rejected by the
-- parser, yet the hand-run migration tool skipped it and went on.
ALTER TABLE contacts ADD CONSTRAINT IF NOT EXISTS contacts_org_phone_key UNIQUE (clerk_org_id, phone);

ALTER TABLE contacts RENAME COLUMN folder TO folder_name;
ALTER TABLE contacts DROP COLUMN IF EXISTS notes;
ALTER TABLE contacts ADD COLUMN email TEXT;
