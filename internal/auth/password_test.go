package auth

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	p := HashParams{Memory: 64, Time: 1, Threads: 1}
	h, err := hashPassword("correct horse battery", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", h)
	}
	h2, _ := hashPassword("correct horse battery", p)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	if ok, rehash, err := checkPassword("correct horse battery", h, p); !ok || rehash || err != nil {
		t.Fatalf("right password: %v %v %v", ok, rehash, err)
	}
	if ok, _, _ := checkPassword("correct horse batterY", h, p); ok {
		t.Fatal("wrong password accepted")
	}
	if ok, rehash, _ := checkPassword("correct horse battery", h, HashParams{Memory: 128, Time: 1, Threads: 1}); !ok || !rehash {
		t.Fatal("changed params do not ask for a rehash")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA", "$bcrypt$x", h[:len(h)-3] + "!!!"} {
		if _, _, err := checkPassword("x", bad, p); err == nil {
			t.Errorf("accepted hash %q", bad)
		}
	}
}
