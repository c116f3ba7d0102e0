CREATE TABLE gadget_notes (
	gadget_id TEXT NOT NULL,
	note      TEXT NOT NULL
);
CREATE INDEX gadget_notes_gadget ON gadget_notes (gadget_id);
