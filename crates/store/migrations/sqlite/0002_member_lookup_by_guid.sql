-- Every member query names the member's guid or user; a tenant-only index only misled the
-- PostgreSQL planner (chosen on a fresh, unanalysed table, it scanned every member of the tenant).
DROP INDEX IF EXISTS members_by_tenant;
