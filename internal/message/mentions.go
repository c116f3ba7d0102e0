package message

import (
	"regexp"
	"slices"
)

// Mentions is the parsed representation of who and what a message names.
// In text, people are <@userId>, channels <#channelId>, and @channel and
// @here address everyone in the channel (the client turns "@Ann" into
// <@id> when the user picks her from the autocomplete).
type Mentions struct {
	Users    []string `json:"users,omitempty"`
	Channels []string `json:"channels,omitempty"`
	Channel  bool     `json:"channel,omitempty"` // @channel
	Here     bool     `json:"here,omitempty"`    // @here
}

var (
	userRef    = regexp.MustCompile(`<@([0-9a-zA-Z-]{1,64})>`)
	channelRef = regexp.MustCompile(`<#([0-9a-zA-Z-]{1,64})>`)
	broadcast  = regexp.MustCompile(`(^|[^\w@])@(channel|here|everyone)\b`)
	codeSpan   = regexp.MustCompile("(?s)```.*?```|`[^`\n]*`")
)

// maxMentions bounds the rows one message can make.
const maxMentions = 50

// ParseMentions reads text's mentions; code spans and blocks are not
// looked at, as in every Markdown chat client.
func ParseMentions(text string) Mentions {
	text = codeSpan.ReplaceAllString(text, "")
	var m Mentions
	for _, g := range userRef.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(m.Users, g[1]) && len(m.Users) < maxMentions {
			m.Users = append(m.Users, g[1])
		}
	}
	for _, g := range channelRef.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(m.Channels, g[1]) && len(m.Channels) < maxMentions {
			m.Channels = append(m.Channels, g[1])
		}
	}
	for _, g := range broadcast.FindAllStringSubmatch(text, -1) {
		switch g[2] {
		case "here":
			m.Here = true
		default:
			m.Channel = true
		}
	}
	return m
}
