# Semgrep rule tests for orgscope.yml: `semgrep --test bench/semgrep`.
# Each annotation comment (ruleid or ok) marks the line below it.


def reads(db, agent_id, clerk_org_id, status):
    # ok: ORG101-unscoped-read
    db.select_one("agents", {"id": agent_id, "clerk_org_id": clerk_org_id})
    # ruleid: ORG101-unscoped-read
    db.select_one("agents", {"id": agent_id})
    # ruleid: ORG101-unscoped-read
    db.count("calls", filters={"status": status})
    # ruleid: ORG101-unscoped-read
    admin_db.select("agents", dict(id=agent_id))
    # ok: ORG101-unscoped-read
    db.select("agents", dict(id=agent_id, clerk_org_id=clerk_org_id))
    # ok: ORG101-unscoped-read
    db.select("agents", {**base_filters, "id": agent_id})
    # ok: ORG101-unscoped-read
    cache.select("agents", {"id": agent_id})


class CallService:
    def list_calls(self, clerk_org_id, status):
        filters = {"clerk_org_id": clerk_org_id}
        if status:
            filters["status"] = status
        # ok: ORG101-unscoped-read
        return self.db.select("calls", filters)

    def list_by_status(self, status):
        filters = {"status": status}
        # ruleid: ORG101-unscoped-read
        return self.db.select("calls", filters)

    def list_filled(self, status, clerk_org_id):
        filters = {}
        if status:
            filters["status"] = status
        filters["clerk_org_id"] = clerk_org_id
        # ok: ORG101-unscoped-read, ORG105-unfiltered-scan
        return self.db.select("calls", filters)

    def list_filled_unscoped(self, status):
        filters = {}
        filters["status"] = status
        # ruleid: ORG101-unscoped-read
        return self.db.select("calls", filters)

    def list_updated(self, status, clerk_org_id):
        filters = {"status": status}
        filters.update({"clerk_org_id": clerk_org_id})
        # ok: ORG101-unscoped-read
        return self.db.select("calls", filters)


def writes(db, agent_id, old_agent_id, organization_id):
    # ruleid: ORG102-unscoped-write
    db.update("agents", {"id": old_agent_id}, {"inbound_phone_number_id": None})
    # ok: ORG102-unscoped-write
    db.update("agents", {"id": agent_id, "clerk_org_id": organization_id}, {"name": "x"})
    # ruleid: ORG102-unscoped-write
    db.delete("agents", {"id": agent_id})
    flt = {"id": agent_id}
    # ruleid: ORG102-unscoped-write
    db.delete("agents", flt)


def inserts(db, agent_id, name, clerk_org_id, items):
    # ruleid: ORG103-insert-without-tenant
    db.insert("agents", {"id": agent_id, "name": name})
    # ok: ORG103-insert-without-tenant
    db.insert("agents", {"id": agent_id, "clerk_org_id": clerk_org_id})
    # ruleid: ORG103-insert-without-tenant
    db.upsert("agents", data={"id": agent_id})
    # ruleid: ORG103-insert-without-tenant
    db.bulk_insert("contacts", [{"clerk_org_id": clerk_org_id}, {"name": name}])
    # ok: ORG103-insert-without-tenant
    db.bulk_insert("contacts", [{"clerk_org_id": clerk_org_id, "name": n} for n in items])
    # ruleid: ORG103-insert-without-tenant
    db.bulk_insert("contacts", [{"name": n} for n in items])


def insert_variables(db, name, clerk_org_id, source, pairs):
    row = {"name": name}
    # ruleid: ORG103-insert-without-tenant
    db.insert("agents", row)
    other = {"name": name}
    other["clerk_org_id"] = clerk_org_id
    # ok: ORG103-insert-without-tenant
    db.insert("agents", other)
    copy = {key: value for key, value in source.items() if key != "id"}
    # ok: ORG103-insert-without-tenant
    db.insert("agents", copy)
    # ok: ORG101-unscoped-read
    db.select("agents", {key: value for key, value in pairs})


def conditional(db, kb_id, org_id):
    filters = {"id": kb_id}
    if org_id:
        filters["clerk_org_id"] = org_id
    # ruleid: ORG104-conditional-scope
    return db.select_one("knowledge_bases", filters)


def guarded(db, kb_id, org_id):
    if not org_id:
        raise ValueError("org required")
    filters = {"id": kb_id}
    if org_id:
        filters["clerk_org_id"] = org_id
    # ok: ORG104-conditional-scope
    return db.select_one("knowledge_bases", filters)


def both_branches(db, kb_id, org_id, fallback):
    filters = {"id": kb_id}
    if org_id:
        filters["clerk_org_id"] = org_id
    else:
        filters["clerk_org_id"] = fallback
    # ok: ORG104-conditional-scope
    return db.select_one("knowledge_bases", filters)


def scans(db, clerk_org_id):
    # ruleid: ORG105-unfiltered-scan
    campaigns = db.select("campaigns", {})
    # ruleid: ORG105-unfiltered-scan
    total = db.count("campaigns")
    # ruleid: ORG105-unfiltered-scan
    db.delete("campaigns", None)
    # ruleid: ORG105-unfiltered-scan
    rows = db.select("campaigns", columns="id")
    # ok: ORG105-unfiltered-scan
    mine = db.select("campaigns", {"clerk_org_id": clerk_org_id})
    filters = {}
    # ruleid: ORG105-unfiltered-scan
    everything = db.select("campaigns", filters)
    return campaigns, total, rows, mine, everything
