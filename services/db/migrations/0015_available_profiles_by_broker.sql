-- Which lapsed brokers still hold available profiles (worker_profiles.repository.brokers_unlicensed_on) is asked
-- on every job → worker match, by the API and by each posting's matching job (an import of postings: once per
-- posting). Its EXISTS per broker found an available profile through worker_profiles_broker_list, reading every
-- other profile of the broker from the heap first: a lapsed broker with 100,000 placed or inactive profiles
-- made each call ~100 ms. This index answers it from the index alone. Built inside the migration's transaction,
-- it holds back profile writes while it builds: apply it at a deploy, not under peak load.
CREATE INDEX worker_profiles_available_by_broker ON worker_profiles (broker_org_id) WHERE status = 'available';
