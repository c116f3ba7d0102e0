package store

import "testing"

func TestRebindDollar(t *testing.T) {
	cases := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"SELECT '?' , ?", "SELECT '?' , $1"},
		{"SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"},
		{`SELECT "we?ird" FROM t WHERE x = ?`, `SELECT "we?ird" FROM t WHERE x = $1`},
		{"SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"SELECT ? -- trailing?", "SELECT $1 -- trailing?"},
		{"SELECT 'unterminated ?", "SELECT 'unterminated ?"},
		{"INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?,?)", "INSERT INTO t VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"},
	}
	for _, c := range cases {
		if got := rebindDollar(c.in); got != c.want {
			t.Errorf("rebindDollar(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzRebindDollar(f *testing.F) {
	for _, s := range []string{"SELECT ?", "'?'", "\"?\"", "-- ?\n?", "'", "''?''", "?-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := rebindDollar(s)
		// Rewriting never loses text outside placeholders: removing the
		// numbers from the output gives back the input.
		if len(out) < len(s) {
			t.Fatalf("output shorter than input: %q → %q", s, out)
		}
	})
}

func TestSplitStatements(t *testing.T) {
	src := "-- header comment\nCREATE TABLE a (x INT);\n\nCREATE INDEX i ON a (x);\n-- +statement\nCREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\n-- -statement\n-- trailing comment only\n"
	got := splitStatements(src)
	if len(got) != 3 {
		t.Fatalf("got %d statements: %q", len(got), got)
	}
	if got[2][:15] != "CREATE FUNCTION" {
		t.Fatalf("third statement = %q", got[2])
	}
}
