package message

import (
	"reflect"
	"testing"
)

func TestParseMentions(t *testing.T) {
	cases := map[string]Mentions{
		"hi <@u-1> and <@u-2>, <@u-1> again":       {Users: []string{"u-1", "u-2"}},
		"see <#c-9>":                               {Channels: []string{"c-9"}},
		"@channel lunch":                           {Channel: true},
		"@here and @everyone":                      {Here: true, Channel: true},
		"mail ann@channel.com":                     {},
		"`<@u-1>` and ```\n@here\n``` are code":    {},
		"<@u 1> <@> <@" + string(make([]byte, 70)): {},
	}
	for text, want := range cases {
		if got := ParseMentions(text); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseMentions(%q) = %+v, want %+v", text, got, want)
		}
	}
}

func FuzzParseMentions(f *testing.F) {
	f.Add("hi <@u-1> @here <#c> `x`")
	f.Fuzz(func(t *testing.T, s string) {
		m := ParseMentions(s)
		if len(m.Users) > maxMentions || len(m.Channels) > maxMentions {
			t.Fatalf("unbounded mentions: %d users", len(m.Users))
		}
	})
}
