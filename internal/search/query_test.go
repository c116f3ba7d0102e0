package search

import (
	"reflect"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	q, err := Parse(`quarterly "launch plan" -draft from:@ann in:#general in:@bob after:2026-01-01 before:2026-02-01 has:link is:thread -"old news"`)
	if err != nil {
		t.Fatal(err)
	}
	want := Query{Words: []string{"quarterly"}, Phrases: []string{"launch plan"}, Not: []string{"draft", "old news"}, From: []string{"ann"},
		In: []string{"#general", "@bob"}, After: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Before: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		HasLink: true, IsThread: true}
	if !reflect.DeepEqual(q, want) {
		t.Fatalf("parsed\n%+v\nwant\n%+v", q, want)
	}
	for _, bad := range []string{`"unclosed`, `from:ann`, `in:general`, `on:tomorrow`, `has:cats`, `is:happy`, `before:`} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		} else if _, ok := err.(*SyntaxError); !ok {
			t.Errorf("Parse(%q): %T", bad, err)
		}
	}
	if q, _ := Parse("url:http://x"); len(q.Words) != 1 {
		t.Fatalf("a colon in a word: %+v", q)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`a "b c" -d from:@x in:#y on:2026-01-01`, `"`, `-`, `-"`, `from:`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Parse(%q) returned %T", s, err)
			}
			return
		}
		for _, w := range append(append(q.Words, q.Phrases...), q.Not...) {
			if w == "" {
				t.Fatalf("Parse(%q) produced an empty term", s)
			}
		}
	})
}
