package env

import (
	"strings"
	"testing"
	"time"
)

func TestReaderDefaultsAndValues(t *testing.T) {
	r := New(FromMap(map[string]string{
		"S": "  hello ", "B": "true", "I": "42", "P": "8080", "D": "1m30s", "E": "JSON",
		"L": " a, ,b ,, c", "U": "postgres://u:pw@h/db", "EMPTY": "",
	}))
	if got := r.String("S", "x"); got != "hello" {
		t.Errorf("String = %q", got)
	}
	if got := r.String("EMPTY", "def"); got != "def" {
		t.Errorf("empty value must mean default, got %q", got)
	}
	if !r.Bool("B", false) || r.Int("I", 0, 0, 100) != 42 || r.Port("P", 1) != 8080 {
		t.Error("bool/int/port")
	}
	if r.Duration("D", 0, 0) != 90*time.Second {
		t.Error("duration")
	}
	if r.Enum("E", "text", "json", "text") != "json" {
		t.Error("enum is case-insensitive")
	}
	if got := strings.Join(r.List("L"), "|"); got != "a|b|c" {
		t.Errorf("List = %q", got)
	}
	if u := r.URL("U", "postgres"); u == nil || u.Host != "h" {
		t.Errorf("URL = %v", u)
	}
	if r.Int("MISSING", 7, 0, 10) != 7 {
		t.Error("missing int must take default")
	}
	if err := r.Err(); err != nil {
		t.Fatalf("unexpected errors: %v", err)
	}
}

func TestReaderCollectsEveryError(t *testing.T) {
	r := New(FromMap(map[string]string{
		"B": "yes-please", "I": "12x", "P": "70000", "D": "soon", "PD": "0s", "E": "xml",
		"U": "mysql://secret@h", "MIN": "1s",
	}))
	r.Bool("B", false)
	r.Int("I", 0, 0, 10)
	r.Port("P", 1)
	r.Duration("D", 0, 0)
	r.PositiveDuration("PD", time.Second)
	r.Enum("E", "json", "json", "text")
	r.URL("U", "postgres")
	r.Duration("MIN", 0, 5*time.Second)
	err := r.Err()
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, name := range []string{"B=", "I=", "P=", "D=", "PD=", "E=", "U:", "MIN="} {
		if !strings.Contains(msg, name) {
			t.Errorf("error does not name %s:\n%s", name, msg)
		}
	}
	if strings.Contains(msg, "secret") {
		t.Errorf("URL errors must not echo the value:\n%s", msg)
	}
}

func TestFirstSecretFallback(t *testing.T) {
	r := New(FromMap(map[string]string{"FALLBACK": "tok"}))
	if got := r.FirstSecret("PRIMARY", "FALLBACK"); got != "tok" {
		t.Fatalf("got %q", got)
	}
	r = New(FromMap(map[string]string{"PRIMARY": "p", "FALLBACK": "tok"}))
	if got := r.FirstSecret("PRIMARY", "FALLBACK"); got != "p" {
		t.Fatalf("primary must win, got %q", got)
	}
}
