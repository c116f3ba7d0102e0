package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// serverFrame is what the generator needs from one server frame. Events
// are {"topic","offset","epoch","id","type","data"}; resync frames
// {"type":"resync","topic","epoch","offset"}; pongs {"type":"pong"}.
// Decoding walks the top level of the object without allocating: a full
// json.Unmarshal per delivery would make the generator, not the server,
// the bottleneck.
type serverFrame struct {
	topic  []byte
	epoch  []byte
	typ    []byte
	offset uint64
	sentNs int64 // data.ts: the publisher's clock when it sent the event
	seq    int64 // data.seq: the publisher's sequence number (signals have no offset)
}

var errNotObject = errors.New("frame is not a JSON object")

// decodeServerFrame parses b; the byte slices in f alias b.
func decodeServerFrame(b []byte) (f serverFrame, err error) {
	err = jsonMembers(b, func(key, val []byte) error {
		switch string(key) {
		case "topic":
			f.topic, err = jsonStr(val)
		case "epoch":
			f.epoch, err = jsonStr(val)
		case "type":
			f.typ, err = jsonStr(val)
		case "offset":
			f.offset, err = strconv.ParseUint(string(val), 10, 64)
		case "data":
			if len(val) > 0 && val[0] == '{' {
				err = jsonMembers(val, func(k, v []byte) error {
					var e error
					switch string(k) {
					case "ts":
						f.sentNs, e = strconv.ParseInt(string(v), 10, 64)
					case "seq":
						f.seq, e = strconv.ParseInt(string(v), 10, 64)
					}
					return e
				})
			}
		}
		return err
	})
	return f, err
}

// jsonStr returns a JSON string's contents; escapes are decoded the slow
// way (our topics and epochs have none).
func jsonStr(v []byte) ([]byte, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, errors.New("not a JSON string")
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// jsonMembers calls fn with each top-level member of the object b (key
// without quotes, value raw). It checks structure only as far as it needs
// to find where each value ends.
func jsonMembers(b []byte, fn func(key, val []byte) error) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errNotObject
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for i < len(b) {
		if b[i] != '"' {
			return errNotObject
		}
		end, err := skipString(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : end-1]
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return errNotObject
		}
		i = skipWS(b, i+1)
		vend, err := skipValue(b, i)
		if err != nil {
			return err
		}
		if err := fn(key, b[i:vend]); err != nil {
			return err
		}
		i = skipWS(b, vend)
		if i >= len(b) {
			break
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return nil
		default:
			return errNotObject
		}
	}
	return errors.New("unterminated JSON object")
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errors.New("unterminated JSON string")
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("missing JSON value")
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("unterminated JSON value")
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
			j++
		}
		if j == i {
			return 0, errors.New("missing JSON value")
		}
		return j, nil
	}
}
