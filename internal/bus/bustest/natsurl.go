package bustest

import "os"

// NATSURL is the server the NATS tests use: one with JetStream, which every
// dev and CI machine runs at 127.0.0.1:4222. QUIKAPP_TEST_NATS_URL
// overrides it.
func NATSURL() string {
	if u := os.Getenv("QUIKAPP_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}
