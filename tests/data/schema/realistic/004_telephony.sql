-- 004 — telephony; this table predates the Clerk migration and still calls
-- the tenant key organization_id.

CREATE TABLE public.phone_numbers (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    organization_id TEXT NOT NULL,
    e164 TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL DEFAULT 'twilio'
);

ALTER TABLE agents
    ADD COLUMN IF NOT EXISTS inbound_phone_number_id UUID REFERENCES phone_numbers(id),
    ADD COLUMN IF NOT EXISTS outbound_phone_number_id UUID REFERENCES phone_numbers(id);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'telephony_worker') THEN
        CREATE ROLE telephony_worker;
    END IF;
END;
$$;

GRANT SELECT, UPDATE ON public.phone_numbers TO telephony_worker;
