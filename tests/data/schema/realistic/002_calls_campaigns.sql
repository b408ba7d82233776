-- 002 — calls and campaigns

CREATE TABLE IF NOT EXISTS calls (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    clerk_org_id TEXT NOT NULL,
    agent_id UUID REFERENCES agents(id) ON DELETE SET NULL,
    ultravox_call_id TEXT,
    status TEXT NOT NULL DEFAULT 'pending', -- 'pending'; 'ringing'; 'done'
    transcript JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS campaigns (
    id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
    clerk_org_id TEXT NOT NULL,
    agent_id UUID REFERENCES agents(id),
    batch_id TEXT,
    name TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft'
);

ALTER TABLE calls ADD COLUMN IF NOT EXISTS campaign_id UUID REFERENCES campaigns(id);
ALTER TABLE calls ADD COLUMN IF NOT EXISTS recording_url TEXT;

CREATE INDEX IF NOT EXISTS idx_calls_clerk_org_id ON calls (clerk_org_id);
CREATE INDEX IF NOT EXISTS idx_campaigns_batch_id ON campaigns (batch_id);
