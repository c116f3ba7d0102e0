-- A domain with a ledger of its own (see ledger_test.go).
CREATE TABLE gadgets (
	id   TEXT PRIMARY KEY,
	name TEXT NOT NULL
);
