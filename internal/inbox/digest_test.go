package inbox

import (
	"testing"
	"time"
)

func TestInQuietHours(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	at := func(h, m int) time.Time { return time.Date(2026, 6, 1, h, m, 0, 0, paris) }
	cases := []struct {
		t        time.Time
		from, to string
		want     bool
	}{
		{at(23, 0), "22:00", "07:00", true},
		{at(6, 59), "22:00", "07:00", true},
		{at(7, 0), "22:00", "07:00", false},
		{at(12, 0), "22:00", "07:00", false},
		{at(13, 0), "12:00", "14:00", true},
		{at(14, 0), "12:00", "14:00", false},
		{at(13, 0), "", "", false},
	}
	for _, c := range cases {
		if got := inQuietHours(c.t.UTC(), c.from, c.to, paris); got != c.want {
			t.Errorf("%s in %s–%s: %v", c.t.Format("15:04"), c.from, c.to, got)
		}
	}
}
