package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type sample struct {
	Email string   `json:"email"`
	Age   int      `json:"age"`
	Tags  []string `json:"tags"`
}

func TestDecodeRejectsBadBodies(t *testing.T) {
	cases := []struct {
		name, body, ctype string
		status            int
		code, field       string
	}{
		{"empty", "", "", 400, CodeValidation, ""},
		{"not json", "hello", "", 400, CodeValidation, ""},
		{"truncated", `{"email":"a`, "", 400, CodeValidation, ""},
		{"wrong type", `{"age":"old"}`, "", 400, CodeValidation, "age"},
		{"array not object", `[1]`, "", 400, CodeValidation, ""},
		{"unknown field", `{"emial":"x"}`, "", 400, CodeValidation, "emial"},
		{"trailing data", `{"email":"a"} {"email":"b"}`, "", 400, CodeValidation, ""},
		{"trailing garbage", `{"email":"a"}x`, "", 400, CodeValidation, ""},
		{"wrong content type", `{"email":"a"}`, "text/plain", 415, CodeUnsupportedMedia, ""},
		{"too large", `{"email":"` + strings.Repeat("a", 200) + `"}`, "", 413, CodePayloadTooLarge, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.body))
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
			}
			var dst sample
			err := Decode(r, &dst, 100)
			e, ok := As(err)
			if !ok {
				t.Fatalf("Decode(%q) = %v, want an *Error", c.body, err)
			}
			if e.Status != c.status || e.Code != c.code {
				t.Fatalf("Decode(%q) = %d %s, want %d %s", c.body, e.Status, e.Code, c.status, c.code)
			}
			if c.field != "" && (len(e.Details) != 1 || e.Details[0].Field != c.field) {
				t.Fatalf("Decode(%q) details = %+v, want field %q", c.body, e.Details, c.field)
			}
		})
	}
}

func TestDecodeAcceptsGoodBody(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(` {"email":"a@b.c","age":3,"tags":["x"]} `))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	var dst sample
	if err := Decode(r, &dst, 0); err != nil {
		t.Fatal(err)
	}
	if dst.Email != "a@b.c" || dst.Age != 3 || len(dst.Tags) != 1 {
		t.Fatalf("decoded %+v", dst)
	}
}

func TestFailHidesInternalErrors(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	Fail(w, r, nil, errSecret{})
	if w.Code != 500 || strings.Contains(w.Body.String(), "secret") {
		t.Fatalf("500 body leaks the cause: %d %s", w.Code, w.Body)
	}
	var body struct{ Error struct{ Code string } }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != CodeInternal {
		t.Fatalf("body %s", w.Body)
	}
}

type errSecret struct{}

func (errSecret) Error() string { return "db password is secret" }

// FuzzDecodeBytes: no input may panic, and anything accepted must
// round-trip through the type.
func FuzzDecodeBytes(f *testing.F) {
	for _, s := range []string{`{}`, `{"email":"a"}`, `{"age":1e309}`, `{"tags":[null]}`, `[`, `{"a":1}`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var dst sample
		err := DecodeBytes(b, &dst)
		if err == nil {
			if _, merr := json.Marshal(dst); merr != nil {
				t.Fatalf("accepted %q but cannot marshal: %v", b, merr)
			}
			return
		}
		if _, ok := As(err); !ok {
			t.Fatalf("DecodeBytes(%q) returned a non-public error %v", b, err)
		}
	})
}

func TestCursorRoundTrip(t *testing.T) {
	at, id, err := DecodeCursor(EncodeCursor(1700000000123, "a:b-c"))
	if err != nil || at != 1700000000123 || id != "a:b-c" {
		t.Fatalf("round trip: %d %q %v", at, id, err)
	}
	for _, bad := range []string{"", "!!", EncodeCursor(1, "")[:2], "MTIz"} {
		if _, _, err := DecodeCursor(bad); err == nil {
			t.Errorf("DecodeCursor(%q) accepted", bad)
		}
	}
}
