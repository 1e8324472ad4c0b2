-- The relay is woken in-process now, after the commit (shop_messaging::wakeup): a NOTIFY in
-- every transaction that enqueues events serialized their commits across the whole server.
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();
